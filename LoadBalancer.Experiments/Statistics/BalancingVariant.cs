using System.Diagnostics.CodeAnalysis;
using LoadBalancer.Measurement;
using LoadBalancer.Proxy.Balancing;

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
    /// The proxy's own algorithm and hash function for this variant, or why they cannot be made (a name this build of
    /// the proxy does not know).
    /// </summary>
    public bool TryCreate([NotNullWhen(true)] out Scheme? scheme, [NotNullWhen(false)] out string? error) =>
        Scheme.TryCreate(Algorithm, HashFunction, out scheme, out error);
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
        if (!variant.TryCreate(out var scheme, out var error))
        {
            return new VariantSweep(variant, balance, moved, error);
        }

        // The same member objects in every table, as the proxy keeps them across a rebuild: a key moved iff its owner differs.
        var servers = Scheme.Members(maxServers);
        var hashes = ids.Select(id => scheme.Hash.HashKey(id)).ToArray();
        BackendServer?[]? previous = null;
        for (var n = minServers; n <= maxServers; n++)
        {
            var members = servers[..n];
            var owners = KeyOwners.Assign(scheme.Build(members), hashes);
            balance[n] = Distribution.FromOwners(members, owners);
            if (previous is not null)
            {
                moved[n - 1] = Disruption.MovedFraction(previous, owners, except: null);
            }

            previous = owners;
        }

        return new VariantSweep(variant, balance, moved, null);
    }
}
