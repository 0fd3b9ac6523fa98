using System.ComponentModel.DataAnnotations;

namespace LoadBalancer.Proxy.Health;

/// <summary>The per-server circuit breaker, passive health from live traffic (configuration section <c>CircuitBreaker</c>).</summary>
/// <remarks>Ranges follow Polly's own limits for <c>CircuitBreakerStrategyOptions</c>.</remarks>
public sealed class CircuitBreakerOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "CircuitBreaker";

    /// <summary>Whether breakers are used at all.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Share of failed attempts within <see cref="SamplingDuration"/> that opens the breaker.</summary>
    [Range(0.01, 1.0)]
    public double FailureRatio { get; set; } = 0.5;

    /// <summary>Attempts needed within <see cref="SamplingDuration"/> before the ratio is considered.</summary>
    [Range(2, 100_000)]
    public int MinimumThroughput { get; set; } = 5;

    /// <summary>The sliding window over which failures are counted.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "01:00:00")]
    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long an open breaker keeps its server out before one trial request may test it.</summary>
    [Range(typeof(TimeSpan), "00:00:00.500", "01:00:00")]
    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>
    /// Attempts in a row that their hedge outpaced (no response headers within <c>Hedging:Delay</c>, and the hedge
    /// answered first), with no answer from the server between, after which the server leaves routing at once for
    /// <see cref="BreakDuration"/>: a hung server fails nothing for <see cref="FailureRatio"/> to count. 0 never.
    /// </summary>
    [Range(0, 1000)]
    public int OutpacedToOpen { get; set; } = 2;
}
