using LoadBalancer.Proxy.Hashing;
using LoadBalancer.Proxy.Ring;

namespace LoadBalancer.Experiments.Statistics;

/// <summary>An algorithm and hash function pair, by their configuration names (<c>Balancing:Algorithm</c>/<c>HashFunction</c>).</summary>
public sealed record BalancingVariant(string Algorithm, string HashFunction)
{
    /// <summary>The variants A-4 compares: our default, the other hashes, the seed's quadratic hash, the other algorithms.</summary>
    public static IReadOnlyList<BalancingVariant> A4 { get; } =
    [
        new("Ring", "XxHash3"),
        new("Ring", "Fnv1a"),
        new("Ring", "Murmur3"),
        new("Ring", "Assignment"),
        new("Maglev", "XxHash3"),
        new("BoundedLoad", "XxHash3"),
    ];

    /// <summary>A label for charts and tables.</summary>
    public string Label => $"{Algorithm}/{HashFunction}";

    /// <summary>
    /// Builds the proxy's own table for <paramref name="servers"/> with this variant, or returns why it cannot
    /// (a name this build of the proxy does not know).
    /// </summary>
    public bool TryBuild(IReadOnlyList<string> servers, out BalancingTable? table, out IHashFunction? hash, out string? error)
    {
        var options = new BalancingOptions { Algorithm = Algorithm, HashFunction = HashFunction };
        try
        {
            hash = BalancingAlgorithms.CreateHash(options);
            var algorithm = BalancingAlgorithms.Create(options);
            table = algorithm.Build(servers.Select(s => new Upstream(s, new Uri($"http://127.0.0.1/{s}"))), hash);
            error = null;
            return true;
        }
        catch (ArgumentException ex)
        {
            table = null;
            hash = null;
            // "Unknown hash function 'X'." without the "(Parameter 'options')" tail.
            error = ex.ParamName is null ? ex.Message : ex.Message.Replace($" (Parameter '{ex.ParamName}')", "", StringComparison.Ordinal);
            return false;
        }
    }

    /// <summary>The server each of <paramref name="ids"/> maps to in <paramref name="table"/>, as the proxy would pick it.</summary>
    public static string[] Assign(BalancingTable table, IHashFunction hash, IReadOnlyList<string> ids)
    {
        var owners = new string[ids.Count];
        for (var i = 0; i < ids.Count; i++)
        {
            var index = table.Pick(hash.HashKey(ids[i]), []);
            owners[i] = index < 0 ? "(none)" : table.Members[index].Name;
        }

        return owners;
    }
}

/// <summary>Balance and disruption of one variant for N = 2..6, computed on the proxy's own tables in process.</summary>
/// <param name="Variant">The variant.</param>
/// <param name="Balance">Distribution per N.</param>
/// <param name="MovedOnJoin">Share of keys that moved when server N+1 joined N servers, per N (N+1 ≤ max).</param>
/// <param name="Error">Why the variant could not be built, or null.</param>
public sealed record VariantSweep(
    BalancingVariant Variant,
    IReadOnlyDictionary<int, Distribution> Balance,
    IReadOnlyDictionary<int, double> MovedOnJoin,
    string? Error)
{
    /// <summary>Computes the sweep over <paramref name="ids"/> for N from <paramref name="minServers"/> to <paramref name="maxServers"/>.</summary>
    public static VariantSweep Compute(BalancingVariant variant, IReadOnlyList<string> ids, int minServers, int maxServers)
    {
        var balance = new SortedDictionary<int, Distribution>();
        var moved = new SortedDictionary<int, double>();
        string[]? previous = null;
        for (var n = minServers; n <= maxServers; n++)
        {
            var servers = Enumerable.Range(1, n).Select(i => $"server{i}").ToArray();
            if (!variant.TryBuild(servers, out var table, out var hash, out var error))
            {
                return new VariantSweep(variant, balance, moved, error);
            }

            var owners = BalancingVariant.Assign(table!, hash!, ids);
            balance[n] = Distribution.FromAnswers(servers, owners);
            if (previous is not null)
            {
                moved[n - 1] = Disruption.MovedFraction(previous, owners);
            }

            previous = owners;
        }

        return new VariantSweep(variant, balance, moved, null);
    }
}
