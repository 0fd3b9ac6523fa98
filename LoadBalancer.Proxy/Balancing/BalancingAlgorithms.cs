using LoadBalancer.Proxy.Hashing;

namespace LoadBalancer.Proxy.Balancing;

/// <summary>Creates the configured algorithm and hash function.</summary>
public static class BalancingAlgorithms
{
    /// <summary>Algorithm names accepted in configuration.</summary>
    public static IReadOnlyList<string> Names { get; } =
        [HashRingAlgorithm.AlgorithmName, MaglevAlgorithm.AlgorithmName, BoundedLoadAlgorithm.AlgorithmName];

    /// <summary>The algorithm <paramref name="options"/> names.</summary>
    public static IBalancingAlgorithm Create(BalancingOptions options) => options.Algorithm.ToUpperInvariant() switch
    {
        "RING" => new HashRingAlgorithm(options.VirtualNodes),
        "MAGLEV" => new MaglevAlgorithm(options.MaglevTableSize),
        "BOUNDEDLOAD" => new BoundedLoadAlgorithm(options.VirtualNodes, options.BalanceFactor, options.Probe()),
        _ => throw new ArgumentException($"Unknown balancing algorithm '{options.Algorithm}'.", nameof(options)),
    };

    /// <summary>The hash function <paramref name="options"/> names.</summary>
    public static IHashFunction CreateHash(BalancingOptions options) =>
        HashFunctions.TryGet(options.HashFunction, out var hash)
            ? hash
            : throw new ArgumentException($"Unknown hash function '{options.HashFunction}'.", nameof(options));
}
