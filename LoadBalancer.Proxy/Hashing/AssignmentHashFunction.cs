namespace LoadBalancer.Proxy.Hashing;

/// <summary>
/// The course assignment's scheme, kept to show how poorly it spreads load: M = 512 slots, K = 9 virtual nodes per
/// server, request slot H(i) = i² + 2i + 17 mod 512, virtual node Φ(i, j) = i² + j² + 2j + 25 mod 512, node
/// collisions resolved by linear probing (see <see cref="SlotSpace"/>), each request served clockwise.
/// </summary>
/// <remarks>
/// <para>For a request, i is the routing key read as a decimal integer (any length: only i mod 512 matters, so the
/// value is reduced digit by digit). A key that is not all ASCII digits has no number; i is then its 64-bit FNV-1a.</para>
/// <para>For a server, i is the number its name ends with (<c>server3</c> → 3, <c>S10</c> → 10). A name that ends
/// without digits has no number; i is then the FNV-1a of the name. Names ending in the same number (e.g.
/// <c>server1</c> and <c>server1#1</c>) get the same nine slots and probe past each other, as the scheme implies.</para>
/// <para>Both polynomials are even-heavy: H reaches only 87 distinct slots of 512, so three servers get about
/// 84 % / 5 % / 11 % of the requests. Never use it for real traffic.</para>
/// </remarks>
public sealed class AssignmentHashFunction : IHashFunction
{
    /// <summary>The configuration name.</summary>
    public const string FunctionName = "Assignment";

    /// <summary>M: the number of slots.</summary>
    public const int SlotCount = 512;

    /// <summary>K = log2(M): virtual nodes per server.</summary>
    public const int VirtualNodesPerServer = 9;

    private readonly Func<ulong, ulong> _requestSlot;

    /// <summary>The course's scheme.</summary>
    public AssignmentHashFunction()
        : this(FunctionName, RequestSlot)
    {
    }

    /// <summary>A variant with another request polynomial (for the comparison in the benchmarks).</summary>
    internal AssignmentHashFunction(string name, Func<ulong, ulong> requestSlot)
    {
        Name = name;
        _requestSlot = requestSlot;
    }

    /// <summary>The students' variant H(i) = i + 2i² + 17 mod 512, shown in the analysis as worse still.</summary>
    internal static AssignmentHashFunction StudentVariant { get; } =
        new("Assignment (i+2i²+17)", static i => (i + 2 * i * i + 17) % SlotCount);

    /// <inheritdoc />
    public string Name { get; }

    /// <inheritdoc />
    public SlotSpace? Slots { get; } = new(SlotCount, VirtualNodesPerServer);

    /// <inheritdoc />
    public ulong HashKey(ReadOnlySpan<char> key) => _requestSlot(Number(key) % SlotCount);

    /// <inheritdoc />
    public ulong HashNode(string server, int replica) => NodeSlot(ServerNumber(server) % SlotCount, (ulong)replica);

    /// <summary>H(i) = i² + 2i + 17 mod 512, for i already reduced mod 512 (so nothing overflows).</summary>
    public static ulong RequestSlot(ulong i) => (i * i + 2 * i + 17) % SlotCount;

    /// <summary>Φ(i, j) = i² + j² + 2j + 25 mod 512, for i already reduced mod 512.</summary>
    public static ulong NodeSlot(ulong i, ulong j) => (i * i + j * j + 2 * j + 25) % SlotCount;

    /// <summary>A request key's i mod 512: its decimal value, or its FNV-1a when it is not a number.</summary>
    internal static ulong Number(ReadOnlySpan<char> key)
    {
        if (key.IsEmpty)
        {
            return Fnv1aFunction.Hash(key);
        }

        ulong value = 0;
        foreach (var c in key)
        {
            if (!char.IsAsciiDigit(c))
            {
                return Fnv1aFunction.Hash(key);
            }

            // Reducing as we go keeps i mod 512 exact for ids of any length.
            value = (value * 10 + (ulong)(c - '0')) % SlotCount;
        }

        return value;
    }

    /// <summary>A server's i: the number its name ends with, or the FNV-1a of the name when it ends otherwise.</summary>
    internal static ulong ServerNumber(string server)
    {
        var start = server.Length;
        while (start > 0 && char.IsAsciiDigit(server[start - 1]))
        {
            start--;
        }

        return start == server.Length ? Fnv1aFunction.Hash(server) : Number(server.AsSpan(start));
    }
}
