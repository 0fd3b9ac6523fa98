using LoadBalancer.Proxy.Hashing;

namespace LoadBalancer.Proxy.Balancing;

/// <summary>One immutable state of the balancing table (ring, Maglev or bounded loads): the table, its hash function and a version. Swapped whole.</summary>
public sealed class TableSnapshot(BalancingTable table, IHashFunction hash, long version)
{
    /// <summary>The lookup table over the current servers.</summary>
    public BalancingTable Table { get; } = table;

    /// <summary>The hash function the table was built with; request keys must be hashed with it.</summary>
    public IHashFunction Hash { get; } = hash;

    /// <summary>Increases by one on every membership change.</summary>
    public long Version { get; } = version;
}
