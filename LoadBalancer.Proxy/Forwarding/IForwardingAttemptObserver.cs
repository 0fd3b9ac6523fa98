using LoadBalancer.Proxy.Ring;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// Hook for per-attempt telemetry (a span and metrics per attempt). <see cref="ProxyRequestHandler"/> calls it around
/// every attempt it sends to a member, retries included; register one implementation as a singleton to receive them.
/// </summary>
/// <remarks>Called on the request path: implementations must be cheap and must not throw.</remarks>
public interface IForwardingAttemptObserver
{
    /// <summary>
    /// An attempt to <paramref name="member"/> is about to be sent; <paramref name="attempt"/> counts from 1.
    /// The returned value (an <c>Activity</c>, a start timestamp, …) is handed back to <see cref="AttemptCompleted"/>.
    /// </summary>
    object? AttemptStarting(HttpContext context, Upstream member, int attempt);

    /// <summary>The attempt ended with <paramref name="result"/>; <paramref name="state"/> is what <see cref="AttemptStarting"/> returned.</summary>
    void AttemptCompleted(HttpContext context, Upstream member, int attempt, in AttemptResult result, object? state);
}
