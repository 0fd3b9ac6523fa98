using System.Runtime.InteropServices;

namespace LoadBalancer.Proxy.Hashing;

/// <summary>
/// 64-bit FNV-1a over the UTF-16 bytes of the key: tiny and widely used (e.g. by Go's and nginx's hash tables), but
/// its last bytes mix weakly, which similar keys such as <c>server1</c>…<c>server9</c> expose.
/// </summary>
public sealed class Fnv1aFunction : IHashFunction
{
    /// <summary>The configuration name.</summary>
    public const string FunctionName = "Fnv1a";

    private const ulong OffsetBasis = 14695981039346656037;
    private const ulong Prime = 1099511628211;

    /// <inheritdoc />
    public string Name => FunctionName;

    /// <inheritdoc />
    public SlotSpace? Slots => null;

    /// <inheritdoc />
    public ulong HashKey(ReadOnlySpan<char> key) => Hash(OffsetBasis, MemoryMarshal.AsBytes(key));

    /// <inheritdoc />
    public ulong HashNode(string server, int replica)
    {
        // The name then a separator and the replica's four bytes: "a" #12 and "a1" #2 hash differently.
        var hash = Hash(OffsetBasis, MemoryMarshal.AsBytes(server.AsSpan()));
        Span<byte> suffix = [0xFF, (byte)replica, (byte)(replica >> 8), (byte)(replica >> 16), (byte)(replica >> 24)];
        return Hash(hash, suffix);
    }

    /// <summary>FNV-1a of <paramref name="bytes"/>, continuing from <paramref name="hash"/>.</summary>
    internal static ulong Hash(ulong hash, ReadOnlySpan<byte> bytes)
    {
        foreach (var b in bytes)
        {
            hash = (hash ^ b) * Prime;
        }

        return hash;
    }

    /// <summary>FNV-1a 64 of the UTF-16 bytes of <paramref name="text"/>.</summary>
    internal static ulong Hash(ReadOnlySpan<char> text) => Hash(OffsetBasis, MemoryMarshal.AsBytes(text));
}
