using System.Diagnostics;
using System.Net.Http;
using LoadBalancer.Proxy.Membership;
using LoadBalancer.Proxy.Replies;
using LoadBalancer.Proxy.Telemetry;
using Yarp.ReverseProxy.Forwarder;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// Routes one request: hashes its key, picks the ring member that owns it and forwards it there with YARP's
/// <see cref="IHttpForwarder"/>, naming the member in <c>X-Upstream-Server</c>.
/// </summary>
public sealed partial class ProxyRequestHandler
{
    /// <summary>The response header naming the member that answered.</summary>
    public const string UpstreamHeader = "X-Upstream-Server";

    private static readonly byte[] NoServerBody = Replies.Replies.SerializeFailure("<Error> No server is available to serve the request");

    private readonly RingState _ring;
    private readonly RoutingKeyHasher _keys;
    private readonly IHttpForwarder _forwarder;
    private readonly HttpMessageInvoker _invoker;
    private readonly ForwarderRequestConfig _requestConfig;
    private readonly ILogger<ProxyRequestHandler> _logger;
    private readonly ProxyTelemetry _telemetry;

    /// <summary>Creates the handler.</summary>
    public ProxyRequestHandler(
        RingState ring,
        RoutingKeyHasher keys,
        IHttpForwarder forwarder,
        UpstreamHttpClient client,
        ILogger<ProxyRequestHandler> logger,
        ProxyTelemetry telemetry)
    {
        _telemetry = telemetry;
        _ring = ring;
        _keys = keys;
        _forwarder = forwarder;
        _invoker = client.Invoker;
        _requestConfig = client.RequestConfig;
        _logger = logger;
    }

    /// <summary>Forwards <paramref name="context"/>'s request to its ring member.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        var snapshot = _ring.Current;
        var index = -1;
        // telemetry: the proxy span covers routing and every attempt (begin)
        Activity? proxyActivity = null;
        if (snapshot is not null)
        {
            string? rawKey = null;
            var hash = _telemetry.IncludeRoutingKey ? _keys.Hash(context, snapshot.Hash, out rawKey) : _keys.Hash(context, snapshot.Hash);
            proxyActivity = _telemetry.StartProxyActivity(hash, rawKey);
            index = snapshot.Table.Pick(hash, []);
        }

        // telemetry (end)
        if (index < 0)
        {
            // telemetry: nothing to try (begin)
            _telemetry.RecordRequest(null, RequestOutcome.NoServer, 0);
            ProxyTelemetry.StopProxyActivity(proxyActivity, null, 0, RequestOutcome.NoServer);
            // telemetry (end)
            context.Response.Headers.RetryAfter = "1";
            await Replies.Replies.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, NoServerBody).ConfigureAwait(false);
            return;
        }

        var member = snapshot!.Table.Members[index];
        context.Response.Headers[UpstreamHeader] = member.Name;
        member.BeginRequest();
        var error = ForwarderError.None;
        // telemetry: one attempt span and measurement per attempt (begin)
        var attempt = _telemetry.StartAttempt(member, attempt: 1);
        var started = _telemetry.GetTimestamp();
        // telemetry (end)
        try
        {
            error = await _forwarder.SendAsync(context, member.DestinationPrefix, _invoker, _requestConfig, HttpTransformer.Default).ConfigureAwait(false);
        }
        finally
        {
            member.EndRequest(served: error == ForwarderError.None);
            // telemetry (begin)
            var outcome = ProxyTelemetry.Classify(error, context.Response.StatusCode);
            _telemetry.RecordRequest(member, outcome, started);
            ProxyTelemetry.StopAttempt(attempt, outcome, error == ForwarderError.None ? context.Response.StatusCode : 0, error);
            ProxyTelemetry.StopProxyActivity(proxyActivity, member, 1, outcome);
            // telemetry (end)
        }

        if (error != ForwarderError.None)
        {
            var exception = context.Features.Get<IForwarderErrorFeature>()?.Exception;
            LogForwardFailed(_logger, member.Name, error, exception);
        }
    }

    [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "Forwarding to {Member} failed: {Error}")]
    private static partial void LogForwardFailed(ILogger logger, string member, ForwarderError error, Exception? exception);
}
