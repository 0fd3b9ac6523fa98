using LoadBalancer.Proxy.Hashing;
using LoadBalancer.Proxy.Ring;

namespace LoadBalancer.Benchmarks.Quality;

/// <summary>One algorithm with one hash function and its settings, as the proxy would build it.</summary>
internal sealed record Scheme(string Algorithm, IHashFunction Hash, IBalancingAlgorithm Builder)
{
    public string Label => $"{Algorithm} / {Hash.Name}";

    public BalancingTable Build(IEnumerable<Upstream> members) => Builder.Build(members, Hash);

    /// <summary>Every algorithm with its configured defaults.</summary>
    public static IBalancingAlgorithm[] Algorithms(BalancingOptions options) =>
    [
        new HashRingAlgorithm(options.VirtualNodes),
        new MaglevAlgorithm(options.MaglevTableSize),
        new BoundedLoadAlgorithm(options.VirtualNodes, options.BalanceFactor),
    ];

    /// <summary>Every algorithm × every hash function, plus the students' variant of the assignment on the ring.</summary>
    public static IReadOnlyList<Scheme> All(BalancingOptions options)
    {
        var schemes = new List<Scheme>();
        foreach (var algorithm in Algorithms(options))
        {
            foreach (var hash in HashFunctions.Functions)
            {
                schemes.Add(new Scheme(algorithm.Name, hash, algorithm));
            }
        }

        schemes.Add(new Scheme(HashRingAlgorithm.AlgorithmName, AssignmentHashFunction.StudentVariant, new HashRingAlgorithm(options.VirtualNodes)));
        return schemes;
    }

    /// <summary>Members <c>server1</c> … <c>server{count}</c>, fresh (available, nothing in flight).</summary>
    public static Upstream[] Members(int count, int first = 1) =>
        Enumerable.Range(first, count).Select(i => new Upstream($"server{i}", new Uri($"http://127.0.0.1:{7000 + i}"))).ToArray();
}
