namespace LoadBalancer.Proxy.Hashing;

/// <summary>
/// A hash function for the consistent-hash tables: it places request keys and virtual nodes in one space, the full
/// 64-bit range unless <see cref="Slots"/> says otherwise.
/// </summary>
/// <remarks>
/// Implementations are stateless and thread-safe. <see cref="HashKey"/> runs on the request path and must not allocate.
/// </remarks>
public interface IHashFunction
{
    /// <summary>The name used in configuration (<c>Balancing:HashFunction</c>).</summary>
    string Name { get; }

    /// <summary>
    /// Null for a function over the full 64-bit range; otherwise the small slot space its scheme prescribes, which
    /// tables must honour (slot count, linear probing of node collisions, virtual nodes per server).
    /// </summary>
    SlotSpace? Slots { get; }

    /// <summary>Hashes a request's routing key.</summary>
    ulong HashKey(ReadOnlySpan<char> key);

    /// <summary>Hashes virtual node <paramref name="replica"/> of a server; called only when a table is built.</summary>
    ulong HashNode(string server, int replica);
}
