using System.ComponentModel.DataAnnotations;
using Yarp.ReverseProxy.Transforms;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>Connections to the servers (configuration section <c>Forwarding</c>).</summary>
public sealed class ForwardingOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Forwarding";

    /// <summary>Up to 64 tchar of RFC 9110 §5.6.2 (none: Via off).</summary>
    private const string ViaToken = @"^[!#$%&'*+\-.^_`|~0-9A-Za-z]{0,64}$";

    /// <summary>How long opening a connection to a server may take.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:01:00")]
    public TimeSpan ConnectTimeout { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long a server may stay silent (no response bytes) before the request fails.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan ActivityTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Whether socket completions run on the runtime's epoll threads instead of hopping to the thread pool
    /// (<c>DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS=1</c>; see <see cref="InlineSocketCompletions"/>). Process-wide,
    /// so it is applied before the host starts, and an explicitly set environment variable wins.
    /// </summary>
    public bool InlineSocketCompletions { get; set; } = true;

    /// <summary>
    /// The HTTP version spoken to the servers: <see cref="ServerProtocol.Http1"/> (any server) or
    /// <see cref="ServerProtocol.Http2"/> (multiplexed; the servers must accept HTTP/2, h2c when not TLS). Heartbeats
    /// use it too, so a server is probed the way it is used.
    /// </summary>
    [EnumDataType(typeof(ServerProtocol))]
    public ServerProtocol ServerProtocol { get; set; } = ServerProtocol.Http1;

    /// <summary>
    /// What the proxy does with <c>X-Forwarded-For</c>, <c>-Proto</c> and <c>-Host</c> (the client's address, scheme and
    /// Host), and with the other headers that claim the same (RFC 7239 <c>Forwarded</c>, <c>X-Real-IP</c>): <c>Set</c>
    /// (the default: replaces whatever the client sent, so it cannot be forged by the client), <c>Append</c> (adds to the
    /// client's values: for a proxy behind another trusted proxy), <c>Remove</c> or <c>Off</c> (passed as received).
    /// YARP's <see cref="ForwardedTransformActions"/>.
    /// </summary>
    [EnumDataType(typeof(ForwardedTransformActions))]
    public ForwardedTransformActions XForwarded { get; set; } = ForwardedTransformActions.Set;

    /// <summary>
    /// The pseudonym this proxy names itself by in the <c>Via</c> header of each forwarded request (RFC 9110 §7.6.3:
    /// <c>Via: 1.1 loadbalancer</c>); a request that already carries it has come round a loop and is answered 508.
    /// An RFC 9110 token; give each tier of a chain of these proxies its own. Empty sends no Via and checks no loops.
    /// </summary>
    [RegularExpression(ViaToken, ErrorMessage = "Forwarding:Via must be an RFC 9110 token (letters, digits and !#$%&'*+-.^_`|~, at most 64), or empty to send no Via.")]
    public string Via { get; set; } = "loadbalancer";

    /// <summary>How long an idle pooled connection is kept.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00")]
    public TimeSpan PooledConnectionIdleTimeout { get; set; } = TimeSpan.FromMinutes(1);
}
