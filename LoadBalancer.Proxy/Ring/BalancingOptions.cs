using System.ComponentModel.DataAnnotations;
using LoadBalancer.Proxy.Hashing;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Ring;

/// <summary>How the proxy spreads keys over members (configuration section <c>Balancing</c>).</summary>
public sealed class BalancingOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Balancing";

    /// <summary>The balancing algorithm: <c>Ring</c>.</summary>
    [Required]
    public string Algorithm { get; set; } = HashRingAlgorithm.AlgorithmName;

    /// <summary>The hash function: see <see cref="HashFunctions.Names"/>.</summary>
    [Required]
    public string HashFunction { get; set; } = XxHash3Function.FunctionName;

    /// <summary>Ring points per member per unit of weight.</summary>
    [Range(1, 10_000)]
    public int VirtualNodes { get; set; } = 160;

    /// <summary>Per-member weights by member name; members not listed weigh 1.</summary>
    public Dictionary<string, int> Weights { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The weight of <paramref name="member"/>.</summary>
    public int WeightOf(string member) => Weights.TryGetValue(member, out var weight) ? weight : 1;
}

/// <summary>Checks <see cref="BalancingOptions"/> beyond what attributes can say.</summary>
internal sealed class BalancingOptionsValidator : IValidateOptions<BalancingOptions>
{
    public ValidateOptionsResult Validate(string? name, BalancingOptions options)
    {
        var failures = new List<string>();
        if (!BalancingAlgorithms.Names.Contains(options.Algorithm, StringComparer.OrdinalIgnoreCase))
        {
            failures.Add($"Balancing:Algorithm '{options.Algorithm}' is unknown; use one of: {string.Join(", ", BalancingAlgorithms.Names)}.");
        }

        if (!HashFunctions.TryGet(options.HashFunction, out _))
        {
            failures.Add($"Balancing:HashFunction '{options.HashFunction}' is unknown; use one of: {string.Join(", ", HashFunctions.Names)}.");
        }

        foreach (var (member, weight) in options.Weights)
        {
            if (weight is < 1 or > 100)
            {
                failures.Add($"Balancing:Weights:{member} is {weight}; a weight must be from 1 to 100.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
