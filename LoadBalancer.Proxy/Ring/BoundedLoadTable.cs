using System.Collections.Immutable;
using LoadBalancer.Proxy.Hashing;

namespace LoadBalancer.Proxy.Ring;

/// <summary>
/// Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam, 2018), as HAProxy's
/// <c>hash-balance-factor</c>: a key goes to the first member clockwise on a <see cref="HashRing"/> whose in-flight
/// load stays within <c>c × average</c> once it takes the request.
/// </summary>
/// <remarks>
/// <para>The bound for member i is <c>⌈c × (L + 1) × wᵢ / W⌉</c> requests, where L is the in-flight total over the
/// available members and W their total weight: the paper's capacity with the new request counted. A member may take
/// the request when its <see cref="Upstream.InFlight"/> is below its bound, so no member ever exceeds it. Because
/// some member is always at or below the average, the walk always ends at a member.</para>
/// <para>A member with nothing in flight is always within bound, so the totals are summed (O(N), no allocation)
/// only when the first candidate is busy. In-flight counts are read without a lock: concurrent picks may both see
/// room for one last request, so under a burst a member can briefly exceed its bound by the number of racing picks.</para>
/// <para>Without load the mapping is the ring's; under load a key may move to a neighbour, which is the point.</para>
/// </remarks>
public sealed class BoundedLoadTable : BalancingTable
{
    /// <summary>The default c, HAProxy's usual <c>hash-balance-factor 125</c>.</summary>
    public const double DefaultBalanceFactor = 1.25;

    private readonly HashRing _ring;
    private readonly Upstream[] _members;

    private BoundedLoadTable(HashRing ring, double balanceFactor)
        : base(ring.Members)
    {
        _ring = ring;
        _members = [.. ring.Members];
        BalanceFactor = balanceFactor;
    }

    /// <summary>The factor c: no member takes more than c times the average load.</summary>
    public double BalanceFactor { get; }

    /// <summary>Builds the table over a ring of <paramref name="virtualNodes"/> points per unit of weight.</summary>
    public static BoundedLoadTable Create(IEnumerable<Upstream> members, IHashFunction hash, int virtualNodes, double balanceFactor = DefaultBalanceFactor)
    {
        if (!(balanceFactor > 1))
        {
            throw new ArgumentOutOfRangeException(nameof(balanceFactor), balanceFactor, "The balance factor must be greater than 1.");
        }

        return new BoundedLoadTable(HashRing.Create(members, hash, virtualNodes), balanceFactor);
    }

    /// <summary>The most requests member <paramref name="index"/> may hold once it takes one more, given the current loads.</summary>
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

            var load = _members[owner].InFlight;
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

        // Only reachable when the loads moved under our feet or the excluded members hold the spare room:
        // the first eligible member clockwise still takes the request rather than refusing it.
        return fallback;
    }

    private long Capacity(int index, long totalLoad, long totalWeight) =>
        (long)Math.Ceiling(BalanceFactor * (totalLoad + 1) * _members[index].Weight / Math.Max(totalWeight, 1));

    private (long Load, long Weight) Totals()
    {
        long load = 0, weight = 0;
        foreach (var member in _members)
        {
            if (member.IsAvailable)
            {
                load += member.InFlight;
                weight += member.Weight;
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
    public BalancingTable Build(IEnumerable<Upstream> members, IHashFunction hash) =>
        BoundedLoadTable.Create(members, hash, virtualNodes, balanceFactor);
}
