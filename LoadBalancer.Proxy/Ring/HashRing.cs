using System.Collections.Immutable;
using LoadBalancer.Proxy.Hashing;

namespace LoadBalancer.Proxy.Ring;

/// <summary>
/// A ketama-style consistent hash ring: each member owns <c>virtualNodes × weight</c> points; a key is served by
/// the owner of the first point clockwise from its hash.
/// </summary>
public sealed class HashRing : BalancingTable
{
    // Parallel arrays rather than an array of pairs: the binary search touches only the points.
    private readonly ulong[] _points;
    private readonly int[] _owners;

    private HashRing(ImmutableArray<Upstream> members, ulong[] points, int[] owners)
        : base(members)
    {
        _points = points;
        _owners = owners;
    }

    /// <summary>Number of points on the ring.</summary>
    public int PointCount => _points.Length;

    /// <inheritdoc />
    /// <remarks>Exact: each point owns the arc from its predecessor (exclusive) to itself, wrapping at 2^64.</remarks>
    public override IReadOnlyList<double> Shares()
    {
        var shares = new double[Members.Length];
        var points = _points;
        for (var i = 0; i < points.Length; i++)
        {
            // Unsigned subtraction wraps, which is exactly the arc across zero for the first point.
            var arc = i == 0 ? points[0] - points[^1] : points[i] - points[i - 1];
            shares[_owners[i]] += arc * Scale;
        }

        if (points.Length == 1)
        {
            shares[_owners[0]] = 1;
        }

        return shares;
    }

    /// <inheritdoc />
    public override IReadOnlyList<TablePoint> Points
    {
        get
        {
            var result = new TablePoint[_points.Length];
            for (var i = 0; i < result.Length; i++)
            {
                result[i] = new TablePoint(_points[i] * Scale, _owners[i]);
            }

            return result;
        }
    }

    // 2^-64: maps a hash to its fraction of the space.
    private const double Scale = 1.0 / 18446744073709551616.0;

    /// <summary>Builds a ring with <paramref name="virtualNodes"/> points per unit of weight.</summary>
    public static HashRing Create(IEnumerable<Upstream> members, IHashFunction hash, int virtualNodes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(virtualNodes, 1);
        var sorted = Sort(members);
        var total = 0;
        foreach (var member in sorted)
        {
            total += virtualNodes * member.Weight;
        }

        var points = new ulong[total];
        var owners = new int[total];
        var next = 0;
        for (var m = 0; m < sorted.Length; m++)
        {
            var count = virtualNodes * sorted[m].Weight;
            for (var replica = 0; replica < count; replica++)
            {
                points[next] = hash.HashNode(sorted[m].Name, replica);
                owners[next] = m;
                next++;
            }
        }

        // Ties (vanishingly rare with 64-bit hashes) go to the lower member index, whatever the input order.
        var order = new int[total];
        for (var i = 0; i < total; i++)
        {
            order[i] = i;
        }

        Array.Sort(order, (a, b) => points[a] != points[b] ? points[a].CompareTo(points[b]) : owners[a].CompareTo(owners[b]));
        var sortedPoints = new ulong[total];
        var sortedOwners = new int[total];
        for (var i = 0; i < total; i++)
        {
            sortedPoints[i] = points[order[i]];
            sortedOwners[i] = owners[order[i]];
        }

        return new HashRing(sorted, sortedPoints, sortedOwners);
    }

    /// <inheritdoc />
    public override int Pick(ulong keyHash, ReadOnlySpan<int> exclude)
    {
        var points = _points;
        if (points.Length == 0)
        {
            return -1;
        }

        var start = LowerBound(points, keyHash);
        var owners = _owners;
        for (var step = 0; step < owners.Length; step++)
        {
            var index = start + step;
            if (index >= owners.Length)
            {
                index -= owners.Length;
            }

            var owner = owners[index];
            if (IsEligible(owner, exclude))
            {
                return owner;
            }
        }

        return -1;
    }

    /// <summary>The index of the first point ≥ <paramref name="value"/>, wrapping to 0 past the end.</summary>
    private static int LowerBound(ulong[] points, ulong value)
    {
        int low = 0, high = points.Length;
        while (low < high)
        {
            var mid = (int)((uint)(low + high) >> 1);
            if (points[mid] < value)
            {
                low = mid + 1;
            }
            else
            {
                high = mid;
            }
        }

        return low == points.Length ? 0 : low;
    }
}

/// <summary>The <c>Ring</c> algorithm: <see cref="HashRing"/> with a configured number of virtual nodes.</summary>
public sealed class HashRingAlgorithm(int virtualNodes) : IBalancingAlgorithm
{
    /// <summary>The configuration name.</summary>
    public const string AlgorithmName = "Ring";

    /// <inheritdoc />
    public string Name => AlgorithmName;

    /// <inheritdoc />
    public BalancingTable Build(IEnumerable<Upstream> members, IHashFunction hash) =>
        HashRing.Create(members, hash, virtualNodes);
}
