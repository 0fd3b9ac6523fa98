using System.ComponentModel.DataAnnotations;
using System.Globalization;
using LoadBalancer.Proxy.Hashing;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Balancing;

/// <summary>How the proxy spreads keys over servers (configuration section <c>Balancing</c>).</summary>
public sealed class BalancingOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Balancing";

    /// <summary>The balancing algorithm: <c>Ring</c>, <c>Maglev</c> or <c>BoundedLoad</c>.</summary>
    [Required]
    public string Algorithm { get; set; } = HashRingAlgorithm.AlgorithmName;

    /// <summary>The hash function: see <see cref="HashFunctions.Names"/>.</summary>
    [Required]
    public string HashFunction { get; set; } = XxHash3Function.FunctionName;

    /// <summary>
    /// Ring points per server per unit of weight (<c>Ring</c>, <c>BoundedLoad</c>). The default keeps the
    /// peak-to-mean load within 1.10 up to 100 servers (docs/hashing.md). <c>Assignment</c> fixes its own 9.
    /// </summary>
    [Range(1, 10_000)]
    public int VirtualNodes { get; set; } = DefaultVirtualNodes;

    /// <summary>The default <see cref="VirtualNodes"/>.</summary>
    public const int DefaultVirtualNodes = 1000;

    /// <summary>The Maglev lookup table size M, a prime well above the server count (≥ 100 × N keeps shares within 1 %).</summary>
    public int MaglevTableSize { get; set; } = MaglevTable.DefaultSize;

    /// <summary>The bounded-load factor c (<c>BoundedLoad</c>): no server holds more than c × the average in-flight load.</summary>
    public double BalanceFactor { get; set; } = BoundedLoadTable.DefaultBalanceFactor;

    /// <summary>
    /// Where <c>BoundedLoad</c> sends a request whose key's server is full: <c>RandomJump</c> (each key's own
    /// sequence of servers, as Envoy) or <c>Clockwise</c> (the ring neighbours, as HAProxy). See docs/routing.md.
    /// </summary>
    [Required]
    public string BoundedLoadProbe { get; set; } = BoundedLoadTable.DefaultProbe.ToString();

    /// <summary>The probes <see cref="BoundedLoadProbe"/> accepts.</summary>
    public static IReadOnlyList<string> ProbeNames { get; } = Enum.GetNames<BoundedLoadProbe>();

    /// <summary>The configured probe; <see cref="BoundedLoadProbe"/> must be one of <see cref="ProbeNames"/>.</summary>
    public BoundedLoadProbe Probe() =>
        ProbeNames.FirstOrDefault(n => string.Equals(n, BoundedLoadProbe, StringComparison.OrdinalIgnoreCase)) is { } name
            ? Enum.Parse<BoundedLoadProbe>(name)
            : throw new ArgumentException($"Unknown bounded-load probe '{BoundedLoadProbe}'.", nameof(BoundedLoadProbe));

    /// <summary>Per-server weights by server name; servers not listed weigh 1.</summary>
    public Dictionary<string, int> Weights { get; set; } = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The weight of <paramref name="server"/>.</summary>
    public int WeightOf(string server) => Weights.TryGetValue(server, out var weight) ? weight : 1;
}

/// <summary>Checks <see cref="BalancingOptions"/> beyond what attributes can say.</summary>
internal sealed class BalancingOptionsValidator : IValidateOptions<BalancingOptions>
{
    private const int MinMaglevTableSize = 7;
    private const int MaxMaglevTableSize = 10_000_019;
    private const double MaxBalanceFactor = 100;

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

        if (options.MaglevTableSize is < MinMaglevTableSize or > MaxMaglevTableSize || !MaglevTable.IsPrime(options.MaglevTableSize))
        {
            failures.Add($"Balancing:MaglevTableSize is {options.MaglevTableSize}; it must be a prime from {MinMaglevTableSize} to {MaxMaglevTableSize} (e.g. 65537 or 655373).");
        }

        if (!(options.BalanceFactor > 1 && options.BalanceFactor <= MaxBalanceFactor))
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"Balancing:BalanceFactor is {options.BalanceFactor}; it must be greater than 1 and at most {MaxBalanceFactor} (e.g. 1.25): at 1 no server could ever be above the average, so requests would leave their keys' servers at once."));
        }

        if (!BalancingOptions.ProbeNames.Contains(options.BoundedLoadProbe, StringComparer.OrdinalIgnoreCase))
        {
            failures.Add($"Balancing:BoundedLoadProbe '{options.BoundedLoadProbe}' is unknown; use one of: {string.Join(", ", BalancingOptions.ProbeNames)}.");
        }

        foreach (var (server, weight) in options.Weights)
        {
            if (weight is < 1 or > 100)
            {
                failures.Add($"Balancing:Weights:{server} is {weight}; a weight must be from 1 to 100.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
