using System.IO.Hashing;
using System.Runtime.InteropServices;

namespace LoadBalancer.Proxy.Hashing;

/// <summary>XXH3 64-bit (System.IO.Hashing): fast, well mixed, the default.</summary>
public sealed class XxHash3Function : IHashFunction
{
    /// <summary>The configuration name.</summary>
    public const string FunctionName = "XxHash3";

    /// <inheritdoc />
    public string Name => FunctionName;

    /// <inheritdoc />
    public SlotSpace? Slots => null;

    /// <inheritdoc />
    // UTF-16 code units are hashed as they are: no transcoding, no allocation.
    public ulong HashKey(ReadOnlySpan<char> key) => XxHash3.HashToUInt64(MemoryMarshal.AsBytes(key));

    /// <inheritdoc />
    public ulong HashNode(string server, int replica)
    {
        // The replica number is mixed in as the seed, so "a" #12 and "a1" #2 cannot collide by concatenation.
        return XxHash3.HashToUInt64(MemoryMarshal.AsBytes(server.AsSpan()), seed: replica);
    }
}
