using System.ComponentModel.DataAnnotations;

namespace LoadBalancer.Proxy.Telemetry;

/// <summary>What the proxy's traces and metrics record (configuration section <c>Telemetry</c>).</summary>
public sealed class TelemetryOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Telemetry";

    /// <summary>
    /// Whether spans carry the raw routing key (<c>loadbalancer.routing_key</c>) beside its hash. Off by default: a key
    /// may be personal data (a user id, an address), and the hash identifies the ring position just as well.
    /// </summary>
    public bool IncludeRoutingKey { get; set; }

    /// <summary>
    /// The share of new traces recorded (0–1): requests that arrive without a sampled trace context are traced with this
    /// probability, by trace id so the proxy and the servers decide alike; a caller's own decision is always kept.
    /// 1 records every request; lower it when spans are exported at high request rates.
    /// </summary>
    [Range(0.0, 1.0)]
    public double TraceSampleRatio { get; set; } = 1.0;

    /// <summary>
    /// Whether every request is written to the log (client address, method, path, protocol, status, duration and the
    /// server that answered), as nginx's and HAProxy's access logs are. Off by default: it costs a log entry per request,
    /// while traces and metrics already describe the traffic.
    /// </summary>
    public bool AccessLog { get; set; }

    /// <summary>
    /// The path of a Prometheus scrape endpoint for the proxy's metrics (e.g. <c>/metrics</c>), served on the proxy's
    /// port and, like <c>/ring</c>, never forwarded; empty (the default) serves none.
    /// </summary>
    [RegularExpression("^(/[A-Za-z0-9._~-]+)+$", ErrorMessage = "Telemetry:PrometheusPath must be a path such as /metrics (letters, digits, . _ ~ -), or empty.")]
    public string? PrometheusPath { get; set; }

    /// <summary>How many fixed sample keys measure the share of keys remapped by a membership change.</summary>
    [Range(100, 1_000_000)]
    public int RemapSampleKeys { get; set; } = 20_000;
}
