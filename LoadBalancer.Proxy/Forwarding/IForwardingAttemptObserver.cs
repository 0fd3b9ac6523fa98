using LoadBalancer.Proxy.Balancing;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// Hook for per-attempt telemetry (a span and metrics per attempt). <see cref="ProxyRequestHandler"/> calls it around
/// every attempt it sends to a server, retries included. Register implementations as singletons
/// (<c>services.AddSingleton&lt;IForwardingAttemptObserver, Mine&gt;()</c>); every one registered is called, in
/// registration order, beside the proxy's own telemetry.
/// </summary>
/// <remarks>Called on the request path: implementations must be cheap and must not throw.</remarks>
public interface IForwardingAttemptObserver
{
    /// <summary>
    /// An attempt to <paramref name="server"/> is about to be sent; <paramref name="attempt"/> counts from 1.
    /// The returned value is handed back to <see cref="AttemptCompleted"/>.
    /// </summary>
    AttemptObservation AttemptStarting(HttpContext context, BackendServer server, int attempt);

    /// <summary>The attempt ended with <paramref name="result"/>; <paramref name="observation"/> is what <see cref="AttemptStarting"/> returned.</summary>
    void AttemptCompleted(HttpContext context, BackendServer server, int attempt, in AttemptResult result, in AttemptObservation observation);
}
