using System.Diagnostics.CodeAnalysis;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Hashing;

namespace LoadBalancer.Measurement;

/// <summary>One algorithm with one hash function and its settings, as the proxy would build it.</summary>
public sealed record Scheme(string Algorithm, IHashFunction Hash, IBalancingAlgorithm Builder)
{
    /// <summary>A label for charts and tables, e.g. <c>Ring / XxHash3</c>.</summary>
    public string Label => $"{Algorithm} / {Hash.Name}";

    /// <summary>The table for <paramref name="members"/>, as the proxy builds it.</summary>
    public BalancingTable Build(IEnumerable<BackendServer> members) => Builder.Build(members, Hash);

    /// <summary>Every algorithm with its configured defaults.</summary>
    public static IBalancingAlgorithm[] Algorithms(BalancingOptions options) =>
    [
        new HashRingAlgorithm(options.VirtualNodes),
        new MaglevAlgorithm(options.MaglevTableSize),
        new BoundedLoadAlgorithm(options.VirtualNodes, options.BalanceFactor, options.Probe()),
    ];

    /// <summary>
    /// The scheme the proxy builds for <c>Balancing:Algorithm</c> = <paramref name="algorithm"/> and
    /// <c>Balancing:HashFunction</c> = <paramref name="hashFunction"/> (other settings at their defaults), or why it
    /// cannot (a name this build of the proxy does not know).
    /// </summary>
    public static bool TryCreate(string algorithm, string hashFunction, [NotNullWhen(true)] out Scheme? scheme, [NotNullWhen(false)] out string? error)
    {
        var options = new BalancingOptions { Algorithm = algorithm, HashFunction = hashFunction };
        try
        {
            var hash = BalancingAlgorithms.CreateHash(options);
            var builder = BalancingAlgorithms.Create(options);
            scheme = new Scheme(builder.Name, hash, builder);
            error = null;
            return true;
        }
        catch (ArgumentException ex)
        {
            scheme = null;
            // "Unknown hash function 'X'." without the "(Parameter 'options')" tail.
            error = ex.ParamName is null ? ex.Message : ex.Message.Replace($" (Parameter '{ex.ParamName}')", "", StringComparison.Ordinal);
            return false;
        }
    }

    /// <summary>
    /// Members <c>server1</c> … <c>server{count}</c>, fresh (available, nothing in flight), sharing one
    /// <see cref="InFlightTally"/> as the proxy's servers do (a new one unless <paramref name="tally"/> is given).
    /// </summary>
    public static BackendServer[] Members(int count, int first = 1, InFlightTally? tally = null)
    {
        tally ??= new InFlightTally();
        return Enumerable.Range(first, count).Select(i => new BackendServer($"server{i}", new Uri($"http://127.0.0.1:{7000 + i}"), tally: tally)).ToArray();
    }
}
