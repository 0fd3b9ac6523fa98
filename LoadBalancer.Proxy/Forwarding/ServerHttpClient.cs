using System.Diagnostics;
using System.Net;
using System.Net.Http;
using Microsoft.Extensions.Options;
using Yarp.ReverseProxy.Forwarder;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// The one connection pool the proxy forwards through, configured as YARP recommends for a forwarder, with the settings
/// and transforms every forwarded request uses.
/// </summary>
public sealed class ServerHttpClient : IDisposable
{
    /// <summary>Creates the pool from <paramref name="options"/>; <paramref name="via"/> is this proxy's Via entry.</summary>
    public ServerHttpClient(IOptions<ForwardingOptions> options, ViaHeader via)
    {
        var settings = options.Value;
        Connections = new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            AutomaticDecompression = DecompressionMethods.None,
            UseCookies = false,
            EnableMultipleHttp2Connections = true,
            ConnectTimeout = settings.ConnectTimeout,
            PooledConnectionIdleTimeout = settings.PooledConnectionIdleTimeout,
            // Propagates W3C trace context so one request is one trace: client → proxy → server.
            ActivityHeadersPropagator = new ReverseProxyPropagator(DistributedContextPropagator.Current),
        };
        Invoker = new HttpMessageInvoker(Connections, disposeHandler: true);
        RequestConfig = new ForwarderRequestConfig
        {
            ActivityTimeout = settings.ActivityTimeout,
            Version = settings.ServerProtocol.RequestVersion(),
            VersionPolicy = settings.ServerProtocol.VersionPolicy(),
        };
        Transformer = new RetryAwareTransformer(settings.XForwarded, via);
    }

    /// <summary>The connection pool itself, which the hedging invokers send through (see <see cref="HedgingInvoker"/>).</summary>
    internal SocketsHttpHandler Connections { get; }

    /// <summary>The invoker passed to <see cref="IHttpForwarder.SendAsync(HttpContext, string, HttpMessageInvoker, ForwarderRequestConfig, HttpTransformer)"/>.</summary>
    public HttpMessageInvoker Invoker { get; }

    /// <summary>Per-request forwarder settings.</summary>
    public ForwarderRequestConfig RequestConfig { get; }

    /// <summary>What is changed in each request and response on the way (target, headers, held-back retryable answers).</summary>
    internal HttpTransformer Transformer { get; }

    /// <inheritdoc />
    public void Dispose() => Invoker.Dispose();
}
