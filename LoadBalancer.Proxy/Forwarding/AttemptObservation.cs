namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// What an <see cref="IForwardingAttemptObserver"/> keeps between the start and the end of an attempt: a state object
/// of its own (a span, say) and a start timestamp, passed by value so that timing an attempt boxes nothing.
/// </summary>
/// <param name="State">The observer's own object, or null.</param>
/// <param name="StartedAt">A <see cref="TimeProvider.GetTimestamp"/> value, or 0.</param>
public readonly record struct AttemptObservation(object? State, long StartedAt);
