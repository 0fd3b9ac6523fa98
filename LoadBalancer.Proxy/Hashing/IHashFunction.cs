namespace LoadBalancer.Proxy.Hashing;

/// <summary>
/// A hash function for the consistent-hash tables: it places request keys and virtual nodes in one 64-bit space.
/// </summary>
/// <remarks>
/// Implementations are stateless and thread-safe. <see cref="HashKey"/> runs on the request path and must not allocate.
/// </remarks>
public interface IHashFunction
{
    /// <summary>The name used in configuration (<c>Balancing:HashFunction</c>).</summary>
    string Name { get; }

    /// <summary>Hashes a request's routing key.</summary>
    ulong HashKey(ReadOnlySpan<char> key);

    /// <summary>Hashes virtual node <paramref name="replica"/> of a member; called only when a table is built.</summary>
    ulong HashNode(string member, int replica);
}
