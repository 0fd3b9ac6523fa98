using LoadBalancer.Proxy.Hashing;

namespace LoadBalancer.Proxy.Balancing;

/// <summary>Builds a <see cref="BalancingTable"/> for a membership; one implementation per algorithm.</summary>
public interface IBalancingAlgorithm
{
    /// <summary>The name used in configuration (<c>Balancing:Algorithm</c>).</summary>
    string Name { get; }

    /// <summary>Builds the table for <paramref name="servers"/> using <paramref name="hash"/> to place them.</summary>
    BalancingTable Build(IEnumerable<BackendServer> servers, IHashFunction hash);
}
