using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Health;

/// <summary>Active health probing of every ring server (configuration section <c>Health</c>).</summary>
public sealed class HealthOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Health";

    /// <summary>Whether the proxy probes its servers at all; passive health (circuit breakers) works either way.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The path probed on every server with <c>GET</c>.</summary>
    [Required(AllowEmptyStrings = false)]
    [RegularExpression("^/.*", ErrorMessage = "Health:Path must start with '/'.")]
    public string Path { get; set; } = "/heartbeat";

    /// <summary>Time from the start of one probe round to the start of the next, however long a round takes.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00")]
    public TimeSpan Interval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Spreads probe rounds: each wait is <see cref="Interval"/> × (1 ± up to this share), drawn at random, so proxies
    /// started together do not probe every server in lockstep (HAProxy's <c>spread-checks</c>, Envoy's
    /// <c>interval_jitter</c>). 0 (the default, as theirs) waits exactly the interval.
    /// </summary>
    [Range(0.0, 0.5)]
    public double Jitter { get; set; }

    /// <summary>How long one probe may take before it counts as failed.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan Timeout { get; set; } = TimeSpan.FromMilliseconds(500);

    /// <summary>Consecutive failed probes after which a server leaves the ring.</summary>
    [Range(1, 100)]
    public int FailuresToLeave { get; set; } = 2;

    /// <summary>Consecutive passed probes after which a server that left rejoins.</summary>
    [Range(1, 100)]
    public int PassesToRejoin { get; set; } = 1;
}

/// <summary>Cross-field rules of <see cref="HealthOptions"/>.</summary>
internal sealed class HealthOptionsValidator : IValidateOptions<HealthOptions>
{
    public ValidateOptionsResult Validate(string? name, HealthOptions options) =>
        options.Timeout > options.Interval
            ? ValidateOptionsResult.Fail($"Health:Timeout ({options.Timeout}) must not exceed Health:Interval ({options.Interval}).")
            : ValidateOptionsResult.Success;
}
