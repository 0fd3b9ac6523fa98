using System.ComponentModel.DataAnnotations;

namespace LoadBalancer.Proxy.RateLimiting;

/// <summary>Per-client rate limit on forwarded requests (configuration section <c>RateLimit</c>).</summary>
public sealed class RateLimitOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "RateLimit";

    /// <summary>Whether forwarded requests are limited per client address. Off by default.</summary>
    public bool Enabled { get; set; }

    /// <summary>Requests a client may send per <see cref="Period"/>; also its burst, as a token bucket refilled each period.</summary>
    [Range(1, 1_000_000)]
    public int PermitLimit { get; set; } = 100;

    /// <summary>The period <see cref="PermitLimit"/> counts over.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00")]
    public TimeSpan Period { get; set; } = TimeSpan.FromSeconds(1);
}
