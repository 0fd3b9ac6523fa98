using System.Buffers.Binary;
using System.Numerics;
using System.Runtime.InteropServices;

namespace LoadBalancer.Proxy.Hashing;

/// <summary>
/// MurmurHash3 x64/128 (Austin Appleby), first 64 bits, over the UTF-16 bytes of the key: the hash behind
/// Cassandra's partitioner and Guava's consistent hashing.
/// </summary>
public sealed class Murmur3Function : IHashFunction
{
    /// <summary>The configuration name.</summary>
    public const string FunctionName = "Murmur3";

    private const ulong C1 = 0x87c37b91114253d5;
    private const ulong C2 = 0x4cf5ad432745937f;

    /// <inheritdoc />
    public string Name => FunctionName;

    /// <inheritdoc />
    public SlotSpace? Slots => null;

    /// <inheritdoc />
    public ulong HashKey(ReadOnlySpan<char> key) => Hash(MemoryMarshal.AsBytes(key), 0);

    /// <inheritdoc />
    // The replica number is the seed, as for XXH3.
    public ulong HashNode(string server, int replica) => Hash(MemoryMarshal.AsBytes(server.AsSpan()), (uint)replica);

    /// <summary>The first 64 bits of MurmurHash3_x64_128(<paramref name="data"/>, <paramref name="seed"/>).</summary>
    internal static ulong Hash(ReadOnlySpan<byte> data, uint seed)
    {
        ulong h1 = seed, h2 = seed;
        var length = data.Length;
        var blocks = data[..(length & ~15)];
        for (var i = 0; i < blocks.Length; i += 16)
        {
            var k1 = BinaryPrimitives.ReadUInt64LittleEndian(blocks[i..]);
            var k2 = BinaryPrimitives.ReadUInt64LittleEndian(blocks[(i + 8)..]);
            h1 ^= MixK1(k1);
            h1 = (BitOperations.RotateLeft(h1, 27) + h2) * 5 + 0x52dce729;
            h2 ^= MixK2(k2);
            h2 = (BitOperations.RotateLeft(h2, 31) + h1) * 5 + 0x38495ab5;
        }

        var tail = data[blocks.Length..];
        ulong t1 = 0, t2 = 0;
        for (var i = 0; i < tail.Length; i++)
        {
            if (i < 8)
            {
                t1 |= (ulong)tail[i] << (8 * i);
            }
            else
            {
                t2 |= (ulong)tail[i] << (8 * (i - 8));
            }
        }

        if (tail.Length > 8)
        {
            h2 ^= MixK2(t2);
        }

        if (tail.Length > 0)
        {
            h1 ^= MixK1(t1);
        }

        h1 ^= (ulong)length;
        h2 ^= (ulong)length;
        h1 += h2;
        h2 += h1;
        h1 = FMix(h1);
        h2 = FMix(h2);
        return h1 + h2;
    }

    private static ulong MixK1(ulong k) => BitOperations.RotateLeft(k * C1, 31) * C2;

    private static ulong MixK2(ulong k) => BitOperations.RotateLeft(k * C2, 33) * C1;

    private static ulong FMix(ulong k)
    {
        k ^= k >> 33;
        k *= 0xff51afd7ed558ccd;
        k ^= k >> 33;
        k *= 0xc4ceb9fe1a85ec53;
        k ^= k >> 33;
        return k;
    }
}
