using System.Net.Http;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// The invoker YARP sends a hedgeable attempt through: it hands the request to
/// <see cref="ProxyRequestHandler.SendHedgedAsync"/> with the attempt's state. One per pooled
/// <see cref="ForwardingRequest"/>, so routing a request through it allocates nothing. It is never disposed: the
/// connection pool below it is the proxy's, shared by every request.
/// </summary>
internal sealed class HedgingInvoker : DelegatingHandler
{
    private readonly ForwardingRequest _request;

    public HedgingInvoker(ForwardingRequest request, HttpMessageHandler connections)
        : base(connections)
    {
        _request = request;
        Invoker = new HttpMessageInvoker(this, disposeHandler: false);
    }

    /// <summary>The invoker to pass to YARP.</summary>
    public HttpMessageInvoker Invoker { get; }

    /// <summary>Sends <paramref name="message"/> over the shared connection pool.</summary>
    public Task<HttpResponseMessage> SendDirectAsync(HttpRequestMessage message, CancellationToken cancellationToken) =>
        base.SendAsync(message, cancellationToken);

    /// <inheritdoc />
    protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken) =>
        _request.Handler.SendHedgedAsync(_request, request, cancellationToken);
}
