using System.ComponentModel.DataAnnotations;

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
}
