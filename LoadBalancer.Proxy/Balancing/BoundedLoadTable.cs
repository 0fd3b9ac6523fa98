using System.Collections.Immutable;
using LoadBalancer.Proxy.Hashing;

namespace LoadBalancer.Proxy.Balancing;

/// <summary>
/// Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam, 2018), as HAProxy's
/// <c>hash-balance-factor</c>: a key goes to the first server clockwise on a <see cref="HashRing"/> whose in-flight
/// load stays within <c>c × average</c> once it takes the request.
/// </summary>
/// <remarks>
/// <para>The bound for server i is <c>⌈c × (L + 1) × wᵢ / W⌉</c> requests, where L is the in-flight total over the
/// available servers and W their total weight: the paper's capacity with the new request counted. A server may take
/// the request when its <see cref="BackendServer.InFlight"/> is below its bound, so no server ever exceeds it. Because
/// some server is always at or below the average, the walk always ends at a server.</para>
/// <para>A server with nothing in flight is always within bound, so the totals are summed (O(N), no allocation)
/// only when the first candidate is busy. In-flight counts are read without a lock: concurrent picks may both see
/// room for one last request, so under a burst a server can briefly exceed its bound by the number of racing picks.</para>
/// <para>Without load the mapping is the ring's; under load a key may move to a neighbour, which is the point.</para>
/// </remarks>
public sealed class BoundedLoadTable : BalancingTable
{
    /// <summary>The default c, HAProxy's usual <c>hash-balance-factor 125</c>.</summary>
    public const double DefaultBalanceFactor = 1.25;

    private readonly HashRing _ring;
    private readonly BackendServer[] _servers;

    private BoundedLoadTable(HashRing ring, double balanceFactor)
        : base(ring.Servers)
    {
        _ring = ring;
        _servers = [.. ring.Servers];
        BalanceFactor = balanceFactor;
    }

    /// <summary>The factor c: no server takes more than c times the average load.</summary>
    public double BalanceFactor { get; }

    /// <summary>Builds the table over a ring of <paramref name="virtualNodes"/> points per unit of weight.</summary>
    public static BoundedLoadTable Create(IEnumerable<BackendServer> servers, IHashFunction hash, int virtualNodes, double balanceFactor = DefaultBalanceFactor)
    {
        if (!(balanceFactor > 1))
        {
            throw new ArgumentOutOfRangeException(nameof(balanceFactor), balanceFactor, "The balance factor must be greater than 1.");
        }

        return new BoundedLoadTable(HashRing.Create(servers, hash, virtualNodes), balanceFactor);
    }

    /// <summary>The most requests server <paramref name="index"/> may hold once it takes one more, given the current loads.</summary>
    public long Capacity(int index)
    {
        var (load, weight) = Totals();
        return Capacity(index, load, weight);
    }

    /// <inheritdoc />
    public override int Pick(ulong keyHash, ReadOnlySpan<int> exclude)
    {
        var owners = _ring.Owners;
        if (owners.Length == 0)
        {
            return -1;
        }

        var start = _ring.FirstPoint(keyHash);
        long totalLoad = -1, totalWeight = 0;
        var fallback = -1;
        for (var step = 0; step < owners.Length; step++)
        {
            var index = start + step;
            if (index >= owners.Length)
            {
                index -= owners.Length;
            }

            var owner = owners[index];
            if (!IsEligible(owner, exclude))
            {
                continue;
            }

            var load = _servers[owner].InFlight;
            if (load == 0)
            {
                return owner;
            }

            if (totalLoad < 0)
            {
                (totalLoad, totalWeight) = Totals();
                fallback = owner;
            }

            if (load < Capacity(owner, totalLoad, totalWeight))
            {
                return owner;
            }
        }

        // Only reachable when the loads moved under our feet or the excluded servers hold the spare room:
        // the first eligible server clockwise still takes the request rather than refusing it.
        return fallback;
    }

    private long Capacity(int index, long totalLoad, long totalWeight) =>
        (long)Math.Ceiling(BalanceFactor * (totalLoad + 1) * _servers[index].Weight / Math.Max(totalWeight, 1));

    private (long Load, long Weight) Totals()
    {
        long load = 0, weight = 0;
        foreach (var server in _servers)
        {
            if (server.IsAvailable)
            {
                load += server.InFlight;
                weight += server.Weight;
            }
        }

        return (load, weight);
    }
}

/// <summary>The <c>BoundedLoad</c> algorithm: <see cref="BoundedLoadTable"/> with configured virtual nodes and factor.</summary>
public sealed class BoundedLoadAlgorithm(int virtualNodes, double balanceFactor) : IBalancingAlgorithm
{
    /// <summary>The configuration name.</summary>
    public const string AlgorithmName = "BoundedLoad";

    /// <inheritdoc />
    public string Name => AlgorithmName;

    /// <inheritdoc />
    public BalancingTable Build(IEnumerable<BackendServer> servers, IHashFunction hash) =>
        BoundedLoadTable.Create(servers, hash, virtualNodes, balanceFactor);
}
