using System.Net.Http;
using Yarp.ReverseProxy.Forwarder;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// YARP's default transforms, except that a 502/503/504 answer that will be retried on another member is held back:
/// returning false stops YARP from copying it to the client, which YARP documents as the way to retry. It also tells
/// the request that headers arrived, after which the attempt deadlines no longer apply.
/// </summary>
internal sealed class RetryAwareTransformer : HttpTransformer
{
    public static RetryAwareTransformer Instance { get; } = new();

    private RetryAwareTransformer()
    {
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
}
