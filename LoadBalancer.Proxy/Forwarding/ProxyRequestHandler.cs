using System.Diagnostics;
using System.Net.Http;
using LoadBalancer.Proxy.Membership;
using LoadBalancer.Proxy.Replies;
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

    /// <summary>Creates the handler.</summary>
    public ProxyRequestHandler(
        RingState ring,
        RoutingKeyHasher keys,
        IHttpForwarder forwarder,
        UpstreamHttpClient client,
        ILogger<ProxyRequestHandler> logger)
    {
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
        if (snapshot is not null)
        {
            var hash = _keys.Hash(context, snapshot.Hash);
            index = snapshot.Table.Pick(hash, []);
        }

        if (index < 0)
        {
            context.Response.Headers.RetryAfter = "1";
            await Replies.Replies.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, NoServerBody).ConfigureAwait(false);
            return;
        }

        var member = snapshot!.Table.Members[index];
        context.Response.Headers[UpstreamHeader] = member.Name;
        member.BeginRequest();
        var error = ForwarderError.None;
        try
        {
            error = await _forwarder.SendAsync(context, member.DestinationPrefix, _invoker, _requestConfig, HttpTransformer.Default).ConfigureAwait(false);
        }
        finally
        {
            member.EndRequest(served: error == ForwarderError.None);
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
