using System.ComponentModel.DataAnnotations;

namespace LoadBalancer.Proxy.Connections;

/// <summary>
/// How many client connections the proxy holds at once (configuration section <c>Connections</c>). Unless
/// <c>Kestrel:Limits:MaxConcurrentConnections</c> is set, the limit is derived from the process's descriptor limit at
/// start (the soft limit, first raised to the hard one): <c>(limit − <see cref="ReservedDescriptors"/>) ×
/// <see cref="ClientShare"/></c>, at least
/// <see cref="ConnectionGate.MinimumLimit"/> (see docs/hardening.md, "Connection floods").
/// </summary>
public sealed class ConnectionOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Connections";

    /// <summary>
    /// Descriptors kept out of the client budget for the process itself: loaded assemblies (about 200 descriptors of
    /// the 230 it holds at idle here), log files, epoll and pipes, the admin state file, a thread's start (which needs
    /// one), health probes.
    /// </summary>
    [Range(0, 1_000_000)]
    public int ReservedDescriptors { get; set; } = 512;

    /// <summary>
    /// The share of the remaining descriptors that client connections may take; the rest is for the connections to
    /// the servers. 0.5 gives every client connection one upstream connection to match (an HTTP/1.1 connection
    /// forwards one request at a time), as HAProxy counts two descriptors per <c>maxconn</c>.
    /// </summary>
    [Range(0.05, 1.0)]
    public double ClientShare { get; set; } = 0.5;

    /// <summary>The least time between two log lines about refused connections; the meter counts every one.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan RejectionLogInterval { get; set; } = TimeSpan.FromSeconds(10);
}
