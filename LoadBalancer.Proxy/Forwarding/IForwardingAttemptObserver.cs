using LoadBalancer.Proxy.Ring;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// Hook for per-attempt telemetry (a span and metrics per attempt). <see cref="ProxyRequestHandler"/> calls it around
/// every attempt it sends to a member, retries included. Register implementations as singletons
/// (<c>services.AddSingleton&lt;IForwardingAttemptObserver, Mine&gt;()</c>); every one registered is called, in
/// registration order, beside the proxy's own telemetry.
/// </summary>
/// <remarks>Called on the request path: implementations must be cheap and must not throw.</remarks>
public interface IForwardingAttemptObserver
{
    /// <summary>
    /// An attempt to <paramref name="member"/> is about to be sent; <paramref name="attempt"/> counts from 1.
    /// The returned value is handed back to <see cref="AttemptCompleted"/>.
    /// </summary>
    AttemptObservation AttemptStarting(HttpContext context, Upstream member, int attempt);

    /// <summary>The attempt ended with <paramref name="result"/>; <paramref name="observation"/> is what <see cref="AttemptStarting"/> returned.</summary>
    void AttemptCompleted(HttpContext context, Upstream member, int attempt, in AttemptResult result, in AttemptObservation observation);
}

/// <summary>
/// What an <see cref="IForwardingAttemptObserver"/> keeps between the start and the end of an attempt: a state object
/// of its own (a span, say) and a start timestamp, passed by value so that timing an attempt boxes nothing.
/// </summary>
/// <param name="State">The observer's own object, or null.</param>
/// <param name="StartedAt">A <see cref="TimeProvider.GetTimestamp"/> value, or 0.</param>
public readonly record struct AttemptObservation(object? State, long StartedAt);
