using LoadBalancer.Measurement;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Hashing;

namespace LoadBalancer.Benchmarks.Quality;

/// <summary>The schemes <c>quality</c> compares.</summary>
internal static class Schemes
{
    /// <summary>Every algorithm × every hash function, plus the students' variant of the assignment on the ring.</summary>
    public static IReadOnlyList<Scheme> All(BalancingOptions options)
    {
        var schemes = new List<Scheme>();
        foreach (var algorithm in Scheme.Algorithms(options))
        {
            foreach (var hash in HashFunctions.Functions)
            {
                schemes.Add(new Scheme(algorithm.Name, hash, algorithm));
            }
        }

        schemes.Add(new Scheme(HashRingAlgorithm.AlgorithmName, AssignmentHashFunction.StudentVariant, new HashRingAlgorithm(options.VirtualNodes)));
        return schemes;
    }
}
