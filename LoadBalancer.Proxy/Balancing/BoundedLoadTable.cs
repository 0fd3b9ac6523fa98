using LoadBalancer.Proxy.Hashing;

namespace LoadBalancer.Proxy.Balancing;

/// <summary>Where a bounded-load table sends a request its key's server has no room for.</summary>
public enum BoundedLoadProbe
{
    /// <summary>Each next server clockwise on the ring (HAProxy's way): a full server's overflow lands on its ring neighbours.</summary>
    Clockwise,

    /// <summary>
    /// Random jumps over the servers from a sequence seeded by the key's hash (Chen, Coleman, Shrivastava 2019, as
    /// Envoy's <c>hash_balance_factor</c>): each key overflows to its own servers, so a hot server's overflow spreads.
    /// </summary>
    RandomJump,
}

/// <summary>
/// Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam, 2018): a key goes to its server on a
/// <see cref="HashRing"/> unless that server's in-flight load would pass <c>c × average</c>; then the table probes
/// other servers (<see cref="BoundedLoadProbe"/>) for one with room.
/// </summary>
/// <remarks>
/// <para>The bound for server i is <c>⌈c × (L + 1) × wᵢ / W⌉</c> requests, where L is the in-flight total over the
/// available servers and W their total weight: the paper's capacity with the new request counted. A server may take
/// the request when its <see cref="BackendServer.InFlight"/> is below its bound, and <see cref="TryBeginRequest"/> counts
/// it only if it still is, so no server ever exceeds it. Because
/// some server is always at or below the average, a probe that visits every server always ends at one.</para>
/// <para>L comes from the servers' shared <see cref="InFlightTally"/> when they have one (the proxy's do), else from
/// summing them; W is cached until a server leaves or rejoins routing. A server with nothing in flight is always
/// within bound, so neither is read while the key's server is idle. Nothing is allocated or locked. In-flight counts
/// are read without a lock: concurrent picks may both see room for one last request, so the count is raised by a
/// compare-and-swap against the bound (<see cref="TryBeginRequest"/>), and the one that loses picks again.</para>
/// <para>The probe order for a key depends only on its hash and the membership, so every proxy replica overflows a
/// key to the same servers, and a retry (<c>exclude</c>) walks on along the same order. When no server has room (only
/// possible while loads move under our feet, or when the excluded servers hold the spare room) the key's own server
/// takes the request rather than refusing it.</para>
/// </remarks>
public sealed class BoundedLoadTable : BalancingTable
{
    /// <summary>The default c, HAProxy's usual <c>hash-balance-factor 125</c>.</summary>
    public const double DefaultBalanceFactor = 1.25;

    /// <summary>The default probe.</summary>
    public const BoundedLoadProbe DefaultProbe = BoundedLoadProbe.RandomJump;

    // Random jumps before the sweep: fewer than 1/c of the servers can be full at once, so a jump finds room with
    // probability above 1 - 1/c and sixteen almost always suffice; the sweep after them keeps the guarantee.
    private const int MaxJumps = 16;

    private readonly HashRing _ring;
    private readonly BackendServer[] _servers;
    private readonly InFlightTally? _tally;

    // The available weight W and the tally's availability version it was computed at: (version << 32) | W.
    private long _availableWeight;

    private BoundedLoadTable(HashRing ring, double balanceFactor, BoundedLoadProbe probe)
        : base(ring.Servers)
    {
        _ring = ring;
        _servers = [.. ring.Servers];
        BalanceFactor = balanceFactor;
        Probe = probe;
        _tally = SharedTally(_servers);
        if (_tally is not null)
        {
            CacheAvailableWeight(_tally.AvailabilityVersion);
        }
    }

    /// <summary>The factor c: no server takes more than c times the average load.</summary>
    public double BalanceFactor { get; }

    /// <summary>Where a request goes when its key's server is full.</summary>
    public BoundedLoadProbe Probe { get; }

    /// <summary>Builds the table over a ring of <paramref name="virtualNodes"/> points per unit of weight.</summary>
    public static BoundedLoadTable Create(
        IEnumerable<BackendServer> servers,
        IHashFunction hash,
        int virtualNodes,
        double balanceFactor = DefaultBalanceFactor,
        BoundedLoadProbe probe = DefaultProbe)
    {
        if (!(balanceFactor > 1))
        {
            throw new ArgumentOutOfRangeException(nameof(balanceFactor), balanceFactor, "The balance factor must be greater than 1.");
        }

        if (!Enum.IsDefined(probe))
        {
            throw new ArgumentOutOfRangeException(nameof(probe), probe, "Unknown probe.");
        }

        return new BoundedLoadTable(HashRing.Create(servers, hash, virtualNodes), balanceFactor, probe);
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

        // The key's own server: the first eligible one clockwise, as the ring picks it.
        var point = _ring.FirstPoint(keyHash);
        var home = -1;
        for (var step = 0; step < owners.Length; step++, point = point + 1 == owners.Length ? 0 : point + 1)
        {
            if (IsEligible(owners[point], exclude))
            {
                home = owners[point];
                break;
            }
        }

        if (home < 0)
        {
            return -1;
        }

        var homeLoad = _servers[home].InFlight;
        if (homeLoad == 0)
        {
            return home;
        }

        var (totalLoad, totalWeight) = Totals();
        if (homeLoad < Capacity(home, totalLoad, totalWeight))
        {
            return home;
        }

        var other = Probe == BoundedLoadProbe.Clockwise
            ? ProbeClockwise(point, home, exclude, totalLoad, totalWeight)
            : ProbeRandomJumps(keyHash, home, exclude, totalLoad, totalWeight);
        return other >= 0 ? other : home;
    }

    /// <inheritdoc />
    /// <remarks>The bound is the one <see cref="Pick"/> tests, from the totals read now; the server's count is raised
    /// only if it is still below it (a compare-and-swap), so the bound holds however many picks race.</remarks>
    public override bool TryBeginRequest(int index)
    {
        // An idle server is within any bound (a capacity of 1 admits only while it holds none): no totals read, as in Pick.
        var server = _servers[index];
        if (server.InFlight == 0 && server.TryBeginRequest(1))
        {
            return true;
        }

        var (totalLoad, totalWeight) = Totals();
        return server.TryBeginRequest(Capacity(index, totalLoad, totalWeight));
    }

    /// <summary>The servers after <paramref name="home"/>'s point, clockwise, each point in turn.</summary>
    private int ProbeClockwise(int homePoint, int home, ReadOnlySpan<int> exclude, long totalLoad, long totalWeight)
    {
        var owners = _ring.Owners;
        var point = homePoint;
        for (var step = 1; step < owners.Length; step++)
        {
            point = point + 1 == owners.Length ? 0 : point + 1;
            var owner = owners[point];
            if (owner != home && HasRoom(owner, exclude, totalLoad, totalWeight))
            {
                return owner;
            }
        }

        return -1;
    }

    /// <summary>
    /// Up to <see cref="MaxJumps"/> servers drawn uniformly from a sequence seeded by the key's hash (as Envoy: the
    /// draw does not follow the ring, so a server with a large arc draws no more overflow than any other; weights
    /// still bound each), then every server once from a point of that sequence. The order is the key's own, the same
    /// on every replica and every call.
    /// </summary>
    private int ProbeRandomJumps(ulong keyHash, int home, ReadOnlySpan<int> exclude, long totalLoad, long totalWeight)
    {
        var count = (ulong)_servers.Length;
        var state = keyHash;
        for (var jump = 0; jump < MaxJumps; jump++)
        {
            // The high 32 bits scaled to [0, count) (Lemire's multiply-shift): uniform enough, no division.
            var index = (int)(((NextJump(ref state) >> 32) * count) >> 32);
            if (index != home && HasRoom(index, exclude, totalLoad, totalWeight))
            {
                return index;
            }
        }

        var first = (int)(((NextJump(ref state) >> 32) * count) >> 32);
        for (var i = 0; i < _servers.Length; i++)
        {
            var index = first + i < _servers.Length ? first + i : first + i - _servers.Length;
            if (index != home && HasRoom(index, exclude, totalLoad, totalWeight))
            {
                return index;
            }
        }

        return -1;
    }

    /// <summary>SplitMix64 (Steele, Lea, Flood 2014): a fast, well-mixed sequence from any 64-bit seed.</summary>
    internal static ulong NextJump(ref ulong state)
    {
        state += 0x9E3779B97F4A7C15UL;
        var z = state;
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }

    private bool HasRoom(int index, ReadOnlySpan<int> exclude, long totalLoad, long totalWeight)
    {
        if (!IsEligible(index, exclude))
        {
            return false;
        }

        var load = _servers[index].InFlight;
        return load == 0 || load < Capacity(index, totalLoad, totalWeight);
    }

    private long Capacity(int index, long totalLoad, long totalWeight) =>
        (long)Math.Ceiling(BalanceFactor * (totalLoad + 1) * _servers[index].Weight / Math.Max(totalWeight, 1));

    private (long Load, long Weight) Totals()
    {
        if (_tally is { } tally)
        {
            var version = tally.AvailabilityVersion;
            var cached = Volatile.Read(ref _availableWeight);
            var weight = (int)(cached >> 32) == version ? (int)cached : CacheAvailableWeight(version);
            return (tally.InFlight, weight);
        }

        long load = 0, sum = 0;
        foreach (var server in _servers)
        {
            if (server.IsAvailable)
            {
                load += server.InFlight;
                sum += server.Weight;
            }
        }

        return (load, sum);
    }

    /// <summary>Sums the available weight, read after <paramref name="version"/>: a change since shows as a newer version.</summary>
    private int CacheAvailableWeight(int version)
    {
        var weight = 0;
        foreach (var server in _servers)
        {
            if (server.IsAvailable)
            {
                weight += server.Weight;
            }
        }

        Volatile.Write(ref _availableWeight, ((long)version << 32) | (uint)weight);
        return weight;
    }

    /// <summary>The tally every server counts into, or null when they do not all share one.</summary>
    private static InFlightTally? SharedTally(BackendServer[] servers)
    {
        var tally = servers.Length > 0 ? servers[0].Tally : null;
        foreach (var server in servers)
        {
            if (server.Tally != tally)
            {
                return null;
            }
        }

        return tally;
    }
}

/// <summary>The <c>BoundedLoad</c> algorithm: <see cref="BoundedLoadTable"/> with configured virtual nodes, factor and probe.</summary>
public sealed class BoundedLoadAlgorithm(int virtualNodes, double balanceFactor, BoundedLoadProbe probe = BoundedLoadTable.DefaultProbe) : IBalancingAlgorithm
{
    /// <summary>The configuration name.</summary>
    public const string AlgorithmName = "BoundedLoad";

    /// <inheritdoc />
    public string Name => AlgorithmName;

    /// <summary>Where overflow goes.</summary>
    public BoundedLoadProbe Probe => probe;

    /// <inheritdoc />
    public BalancingTable Build(IEnumerable<BackendServer> servers, IHashFunction hash) =>
        BoundedLoadTable.Create(servers, hash, virtualNodes, balanceFactor, probe);
}
