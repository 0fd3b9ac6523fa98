using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// Hedging a slow attempt (configuration section <c>Hedging</c>): when a server has not sent response headers within
/// <see cref="Delay"/>, the same request goes to the key's next server too and the first answer wins; the other is
/// cancelled. Only idempotent requests without a body are hedged, a hedge counts as an attempt
/// (<see cref="RetryOptions.MaxAttempts"/>) and takes a slot of the retry budget.
/// </summary>
public sealed class HedgingOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Hedging";

    /// <summary>Whether slow attempts are hedged.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// How long an attempt may go without response headers before it is hedged. Set it above the slowest answer the
    /// servers give when healthy: a slower one is sent twice. A delay at or over <see cref="RetryOptions.AttemptTimeout"/>
    /// never hedges (the attempt is cut off first).
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "01:00:00")]
    public TimeSpan Delay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// 0 (the default) hedges every server's requests after <see cref="Delay"/>. Above 0, each server's requests are
    /// hedged once they have waited longer than this percentile of that server's recent answers took (99: the
    /// slowest 1 %), never sooner than <see cref="MinDelay"/> nor later than <see cref="Delay"/>; a server with too few
    /// recent answers keeps <see cref="Delay"/>. A hung server's requests then wait about its usual p99 instead of the
    /// whole delay. Its answer times mix all its requests: if some paths are always slow, they are hedged every time.
    /// </summary>
    [Range(0.0, 99.99)]
    public double DelayPercentile { get; set; }

    /// <summary>The shortest hedging delay <see cref="DelayPercentile"/> may set.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan MinDelay { get; set; } = TimeSpan.FromMilliseconds(10);
}

/// <summary>Cross-field rules of <see cref="HedgingOptions"/>.</summary>
internal sealed class HedgingOptionsValidator : IValidateOptions<HedgingOptions>
{
    public ValidateOptionsResult Validate(string? name, HedgingOptions options) =>
        options.MinDelay > options.Delay
            ? ValidateOptionsResult.Fail($"Hedging:MinDelay ({options.MinDelay}) must not exceed Hedging:Delay ({options.Delay}).")
            : ValidateOptionsResult.Success;
}
