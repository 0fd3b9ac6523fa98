using System.Net.Http;
using Yarp.ReverseProxy.Forwarder;
using Yarp.ReverseProxy.Transforms;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// YARP's default transforms plus its X-Forwarded-For/-Proto/-Host transforms (as YARP's routes apply them by
/// default), with the client's raw <see cref="RequestTarget"/>, except that a 502/503/504 answer that will be retried
/// on another member is held back: returning false stops YARP from copying it to the client, which YARP documents as
/// the way to retry. It also tells the request that headers arrived, after which the attempt deadlines no longer apply.
/// </summary>
internal sealed class RetryAwareTransformer : HttpTransformer
{
    private readonly RequestTransform[] _forwarded;

    /// <summary>Creates the transformer; <paramref name="forwarded"/> says what happens to the X-Forwarded-* headers.</summary>
    public RetryAwareTransformer(ForwardedTransformActions forwarded)
    {
        _forwarded = forwarded == ForwardedTransformActions.Off
            ? []
            :
            [
                new RequestHeaderXForwardedForTransform(ForwardedHeaderNames.For, forwarded),
                new RequestHeaderXForwardedProtoTransform(ForwardedHeaderNames.Proto, forwarded),
                new RequestHeaderXForwardedHostTransform(ForwardedHeaderNames.Host, forwarded),
            ];
    }

    /// <inheritdoc />
    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken).ConfigureAwait(false);
        proxyRequest.RequestUri = RequestTarget.ForwardedUri(httpContext, destinationPrefix);
        if (_forwarded.Length == 0)
        {
            return;
        }

        // The client's headers were copied above: YARP's transforms then replace or extend those copies.
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
            if (IsRetryableStatus((int)proxyResponse.StatusCode) && request.CanRetry(nothingSent: false))
            {
                request.HeldBack = true;
                return new ValueTask<bool>(false);
            }
        }

        return base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
    }

    /// <summary>The statuses worth asking another member about: the member (or its own upstream) is unavailable.</summary>
    public static bool IsRetryableStatus(int statusCode) => statusCode is 502 or 503 or 504;

    /// <summary>The header names, as YARP's defaults use them.</summary>
    internal static class ForwardedHeaderNames
    {
        public const string For = "X-Forwarded-For";
        public const string Proto = "X-Forwarded-Proto";
        public const string Host = "X-Forwarded-Host";
    }
}
