using System.Collections.Immutable;
using System.Numerics;
using LoadBalancer.Proxy.Hashing;

namespace LoadBalancer.Proxy.Ring;

/// <summary>
/// A ketama-style consistent hash ring: each member owns <c>virtualNodes × weight</c> points; a key is served by
/// the owner of the first point clockwise from its hash, or the next eligible owner after it.
/// </summary>
/// <remarks>
/// A bucket index over the hash's top bits finds the first point in O(1) (about one point per bucket), so lookup cost
/// does not grow with the number of points. With a <see cref="SlotSpace"/> hash the ring is the scheme's own slot
/// array: the scheme's virtual-node count, linear probing, and one bucket per slot.
/// </remarks>
public sealed class HashRing : BalancingTable
{
    private const int MaxIndexBits = 20;

    // Parallel arrays rather than an array of pairs: the scan touches only the points.
    private readonly ulong[] _points;
    private readonly int[] _owners;

    // _bucketStart[b] is the first point whose bucket is ≥ b; one extra entry (= point count) ends the last bucket.
    private readonly int[] _bucketStart;
    private readonly int _bucketShift;
    private readonly uint _slotCount;

    private HashRing(ImmutableArray<Upstream> members, ulong[] points, int[] owners, int[] bucketStart, int bucketShift, uint slotCount)
        : base(members)
    {
        _points = points;
        _owners = owners;
        _bucketStart = bucketStart;
        _bucketShift = bucketShift;
        _slotCount = slotCount;
    }

    /// <summary>Number of points on the ring.</summary>
    public int PointCount => _points.Length;

    /// <summary>The owner of each point, in ring order.</summary>
    internal ReadOnlySpan<int> Owners => _owners;

    /// <summary>Builds a ring with <paramref name="virtualNodes"/> points per unit of weight (ignored for slot hashes).</summary>
    public static HashRing Create(IEnumerable<Upstream> members, IHashFunction hash, int virtualNodes)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(virtualNodes, 1);
        var sorted = Sort(members);
        return hash.Slots is { } space ? CreateSlotted(sorted, hash, space) : CreateFull(sorted, hash, virtualNodes);
    }

    private static HashRing CreateFull(ImmutableArray<Upstream> sorted, IHashFunction hash, int virtualNodes)
    {
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
            var name = sorted[m].Name;
            var count = virtualNodes * sorted[m].Weight;
            for (var replica = 0; replica < count; replica++)
            {
                points[next] = hash.HashNode(name, replica);
                owners[next] = m;
                next++;
            }
        }

        Array.Sort(points, owners);

        // Ties (vanishingly rare with 64-bit hashes) go to the lower member index whatever the input order: the
        // introsort above is not stable, so order each run of equal points by owner.
        for (var i = 1; i < total; i++)
        {
            if (points[i] == points[i - 1])
            {
                var end = i + 1;
                while (end < total && points[end] == points[i - 1])
                {
                    end++;
                }

                Array.Sort(owners, i - 1, end - i + 1);
                i = end;
            }
        }

        // About one point per bucket: the scan after the index lookup is short whatever the ring's size.
        var bits = Math.Clamp(BitOperations.Log2((uint)Math.Max(total, 1)) + 1, 1, MaxIndexBits);
        var shift = 64 - bits;
        var bucketStart = BuildIndex(points, 1 << bits, point => (int)(point >> shift));
        return new HashRing(sorted, points, owners, bucketStart, shift, 0);
    }

    private static HashRing CreateSlotted(ImmutableArray<Upstream> sorted, IHashFunction hash, SlotSpace space)
    {
        // The scheme's slot array: members in name order, each placing its virtual nodes in turn; a taken slot
        // moves the node to the next free one; once the array is full the remaining nodes have nowhere to go.
        var slotOwner = new int[space.Count];
        Array.Fill(slotOwner, -1);
        var placed = 0;
        for (var m = 0; m < sorted.Length && placed < space.Count; m++)
        {
            var count = space.VirtualNodes * sorted[m].Weight;
            for (var replica = 0; replica < count && placed < space.Count; replica++)
            {
                var slot = (int)(hash.HashNode(sorted[m].Name, replica) % (uint)space.Count);
                while (slotOwner[slot] >= 0)
                {
                    slot = slot + 1 == space.Count ? 0 : slot + 1;
                }

                slotOwner[slot] = m;
                placed++;
            }
        }

        var points = new ulong[placed];
        var owners = new int[placed];
        var next = 0;
        for (var slot = 0; slot < space.Count; slot++)
        {
            if (slotOwner[slot] >= 0)
            {
                points[next] = (ulong)slot;
                owners[next] = slotOwner[slot];
                next++;
            }
        }

        var bucketStart = BuildIndex(points, space.Count, point => (int)point);
        return new HashRing(sorted, points, owners, bucketStart, 0, (uint)space.Count);
    }

    private static int[] BuildIndex(ulong[] points, int buckets, Func<ulong, int> bucketOf)
    {
        var start = new int[buckets + 1];
        var p = 0;
        for (var b = 0; b <= buckets; b++)
        {
            while (p < points.Length && bucketOf(points[p]) < b)
            {
                p++;
            }

            start[b] = p;
        }

        return start;
    }

    /// <inheritdoc />
    public override int Pick(ulong keyHash, ReadOnlySpan<int> exclude)
    {
        var owners = _owners;
        if (owners.Length == 0)
        {
            return -1;
        }

        var start = FirstPoint(keyHash);
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

    /// <summary>The index of the first point ≥ <paramref name="keyHash"/>, wrapping to 0 past the end; the ring must not be empty.</summary>
    internal int FirstPoint(ulong keyHash)
    {
        if (_slotCount != 0)
        {
            keyHash %= _slotCount;
        }

        var points = _points;
        var index = _bucketStart[(int)(keyHash >> _bucketShift)];
        while (index < points.Length && points[index] < keyHash)
        {
            index++;
        }

        return index == points.Length ? 0 : index;
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
