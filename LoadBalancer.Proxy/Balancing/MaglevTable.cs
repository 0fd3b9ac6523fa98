using System.Collections.Immutable;
using LoadBalancer.Proxy.Hashing;

namespace LoadBalancer.Proxy.Balancing;

/// <summary>
/// Google's Maglev lookup table (Eisenbud et al., NSDI 2016): every server walks its own permutation of the
/// <c>M</c> entries (offset and skip from two hashes of its name) and servers take turns claiming their next free
/// entry, so each owns M/N entries give or take one; a key is served by the server of entry <c>hash mod M</c>.
/// </summary>
/// <remarks>
/// <para>Weights: a server of weight w claims w entries per turn.</para>
/// <para>Health is applied at lookup, not by rebuilding: when an entry's server is unavailable or excluded, the
/// walk moves to the following entries until an eligible server appears. Only the unavailable server's keys move,
/// and they spread over the others in proportion to how often each follows it in the table (about evenly, as the
/// permutations interleave). The paper instead rebuilds without the server, which would also move some other keys.</para>
/// </remarks>
public sealed class MaglevTable : BalancingTable
{
    /// <summary>The default table size, the paper's small prime.</summary>
    public const int DefaultSize = 65537;

    // Past this many steps of the walk, check once whether anyone can take the key at all, so a ring with every
    // server down answers -1 quickly instead of scanning the whole table.
    private const int WalkBeforeCheck = 64;

    private readonly int[] _entries;

    private MaglevTable(ImmutableArray<BackendServer> servers, int[] entries)
        : base(servers)
    {
        _entries = entries;
    }

    /// <summary>The table size M.</summary>
    public int Size => _entries.Length;

    /// <summary>The server index of each entry (empty when there are no servers).</summary>
    internal ReadOnlySpan<int> Entries => _entries;

    /// <summary>Builds the table of prime size <paramref name="size"/> for <paramref name="servers"/>.</summary>
    public static MaglevTable Create(IEnumerable<BackendServer> servers, IHashFunction hash, int size = DefaultSize)
    {
        if (!IsPrime(size))
        {
            // A composite size lets a permutation cycle through a subset of entries and never find a free one.
            throw new ArgumentException($"The Maglev table size must be prime; {size} is not.", nameof(size));
        }

        var sorted = Sort(servers);
        if (sorted.Length == 0)
        {
            return new MaglevTable(sorted, []);
        }

        var n = sorted.Length;
        var position = new int[n];
        var skip = new int[n];
        var weight = new int[n];
        for (var m = 0; m < n; m++)
        {
            // Replicas 0 and 1 serve as the paper's two independent hashes h1 (offset) and h2 (skip).
            position[m] = (int)(hash.HashNode(sorted[m].Name, 0) % (ulong)size);
            skip[m] = (int)(hash.HashNode(sorted[m].Name, 1) % (ulong)(size - 1)) + 1;
            weight[m] = sorted[m].Weight;
        }

        var entries = new int[size];
        Array.Fill(entries, -1);
        var filled = 0;
        while (true)
        {
            for (var m = 0; m < n; m++)
            {
                for (var turn = 0; turn < weight[m]; turn++)
                {
                    // Walk m's permutation (position, position + skip, … mod M) to its next free entry; a prime M
                    // makes every permutation visit every entry, so this ends.
                    var c = position[m];
                    var step = skip[m];
                    while (entries[c] >= 0)
                    {
                        c += step;
                        if (c >= size)
                        {
                            c -= size;
                        }
                    }

                    entries[c] = m;
                    position[m] = c;
                    if (++filled == size)
                    {
                        return new MaglevTable(sorted, entries);
                    }
                }
            }
        }
    }

    /// <summary>Whether <paramref name="value"/> is prime (trial division: sizes are at most a few million).</summary>
    public static bool IsPrime(int value)
    {
        if (value < 2)
        {
            return false;
        }

        for (var d = 2; (long)d * d <= value; d++)
        {
            if (value % d == 0)
            {
                return false;
            }
        }

        return true;
    }

    /// <inheritdoc />
    public override int Pick(ulong keyHash, ReadOnlySpan<int> exclude)
    {
        var entries = _entries;
        if (entries.Length == 0)
        {
            return -1;
        }

        var index = (int)(keyHash % (uint)entries.Length);
        for (var step = 0; step < entries.Length; step++)
        {
            var server = entries[index];
            if (IsEligible(server, exclude))
            {
                return server;
            }

            if (step == WalkBeforeCheck && !AnyEligible(exclude))
            {
                return -1;
            }

            if (++index == entries.Length)
            {
                index = 0;
            }
        }

        return -1;
    }

    private bool AnyEligible(ReadOnlySpan<int> exclude)
    {
        for (var m = 0; m < Servers.Length; m++)
        {
            if (IsEligible(m, exclude))
            {
                return true;
            }
        }

        return false;
    }
}

/// <summary>The <c>Maglev</c> algorithm: <see cref="MaglevTable"/> of a configured prime size.</summary>
public sealed class MaglevAlgorithm(int tableSize) : IBalancingAlgorithm
{
    /// <summary>The configuration name.</summary>
    public const string AlgorithmName = "Maglev";

    /// <inheritdoc />
    public string Name => AlgorithmName;

    /// <inheritdoc />
    public BalancingTable Build(IEnumerable<BackendServer> servers, IHashFunction hash) =>
        MaglevTable.Create(servers, hash, tableSize);
}
