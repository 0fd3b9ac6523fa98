namespace LoadBalancer.Proxy.Balancing;

/// <summary>
/// The requests in flight over a group of servers (those created with this tally) that are available, kept as the
/// servers count them, so a bounded-load lookup reads the total in O(1) instead of summing every server.
/// </summary>
/// <remarks>
/// A server adds to the tally only what its own state word says (see <see cref="BackendServer"/>): a request that
/// starts or ends while the server is available counts ±1, a server leaving routing takes its in-flight count out and
/// one rejoining puts it back. Each server's changes are ordered by that one word, so the total never drifts; a reader
/// may see it a step behind, as it may see any server's count. Servers that left the membership stay in the group until
/// their requests drain, as Envoy's cluster-wide active-request count does.
/// </remarks>
public sealed class InFlightTally
{
    private long _inFlight;
    private int _availabilityVersion;

    /// <summary>Requests in flight on the group's available servers.</summary>
    public long InFlight => Math.Max(Volatile.Read(ref _inFlight), 0);

    /// <summary>Changes whenever a server of the group leaves or rejoins routing: cached available weights compare it.</summary>
    public int AvailabilityVersion => Volatile.Read(ref _availabilityVersion);

    internal void Add(long delta) => Interlocked.Add(ref _inFlight, delta);

    internal void AvailabilityChanged() => Interlocked.Increment(ref _availabilityVersion);
}
