using System.Net.Http;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Transforms;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// What changes in each forwarded request and response. Requests: YARP's default copy, then <see cref="HeaderHygiene"/>
/// (hop-by-hop fields, the client's X-Upstream-Server, a Host that would go twice), this proxy's <see cref="ViaHeader"/>
/// entry, the <see cref="ClientAddressHeaders"/> and the client's raw <see cref="RequestTarget"/>. Responses: YARP's
/// copy, less the fields the server's Connection names and its own X-Upstream-Server, except that a 502/503/504 answer
/// that will be retried on another server is held back: returning false stops YARP from copying it to the client,
/// which YARP documents as the way to retry. It also tells the request that headers arrived, after which the attempt
/// deadlines no longer apply.
/// </summary>
internal sealed class RetryAwareTransformer : HttpTransformer
{
    private readonly RequestTransform[] _forwarded;
    private readonly ViaHeader _via;

    /// <summary>Creates the transformer; <paramref name="forwarded"/> says what happens to the client-address headers.</summary>
    public RetryAwareTransformer(ForwardedTransformActions forwarded, ViaHeader via)
    {
        _forwarded = ClientAddressHeaders.For(forwarded);
        _via = via;
    }

    /// <inheritdoc />
    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);

        // The client's headers were copied above: they are cleaned first, so that the proxy's own additions stay.
        HeaderHygiene.Apply(httpContext, proxyRequest);
        _via.Apply(httpContext, proxyRequest);
        proxyRequest.RequestUri = RequestTarget.ForwardedUri(httpContext, destinationPrefix);
        if (_forwarded.Length == 0)
        {
            return;
        }

        // YARP's transforms replace or extend the copies.
        var context = new RequestTransformContext
        {
            HttpContext = httpContext,
            ProxyRequest = proxyRequest,
            DestinationPrefix = destinationPrefix,
            HeadersCopied = true,
            CancellationToken = cancellationToken,
        };
        foreach (var transform in _forwarded)
        {
            await transform.ApplyAsync(context).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public override ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        if (proxyResponse is not null && httpContext.Features.Get<ForwardingRequest>() is { } request)
        {
            request.ResponseReceived();
            if (IsRetryableStatus((int)proxyResponse.StatusCode) && ProxyRequestHandler.DecideRetry(request, nothingSent: false))
            {
                request.HeldBack = true;
                return new ValueTask<bool>(false);
            }
        }

        if (proxyResponse is not null)
        {
            HeaderHygiene.Apply(proxyResponse);
        }

        return base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
    }

    /// <summary>The statuses worth asking another server about: the server (or its own upstream) is unavailable.</summary>
    public static bool IsRetryableStatus(int statusCode) => statusCode is 502 or 503 or 504;
}
