using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>Retrying a failed attempt on the next ring server (configuration section <c>Retry</c>).</summary>
public sealed class RetryOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Retry";

    /// <summary>Attempts per request, the first included; 1 turns retries off.</summary>
    [Range(1, RetryOptionsLimits.MaxAttempts)]
    public int MaxAttempts { get; set; } = 3;

    /// <summary>How long one attempt may take until its response headers arrive.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan AttemptTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long all attempts of one request may take together.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "1.00:00:00")]
    public TimeSpan TotalTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Request bodies with a known length up to this many bytes are buffered so another attempt can send them again;
    /// larger or chunked bodies are not retried once they may have been sent. 0 buffers nothing.
    /// </summary>
    [Range(0, 64 * 1024 * 1024)]
    public int MaxBufferedBodyBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// The retry budget: requests retrying at once may be at most this share (in %) of the requests in flight
    /// (see <see cref="RetryBudget"/>); 100 turns the budget off.
    /// </summary>
    [Range(1, 100)]
    public int BudgetPercent { get; set; } = 20;

    /// <summary>Requests that may retry at once whatever the share: a budget for quiet times.</summary>
    [Range(0, 100_000)]
    public int MinRetryConcurrency { get; set; } = 10;

    /// <summary>The <c>Retry-After</c> seconds sent with the 503 answered when no server is available.</summary>
    [Range(1, 3600)]
    public int RetryAfterSeconds { get; set; } = 1;
}

/// <summary>Cross-field rules of <see cref="RetryOptions"/>.</summary>
internal sealed class RetryOptionsValidator : IValidateOptions<RetryOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, RetryOptions options) =>
        options.AttemptTimeout > options.TotalTimeout
            ? ValidateOptionsResult.Fail($"Retry:AttemptTimeout ({options.AttemptTimeout}) must not exceed Retry:TotalTimeout ({options.TotalTimeout}).")
            : ValidateOptionsResult.Success;
}
