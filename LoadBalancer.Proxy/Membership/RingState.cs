namespace LoadBalancer.Proxy.Membership;

/// <summary>Holds the current <see cref="RingSnapshot"/>; readers never lock, writers swap the reference.</summary>
public sealed class RingState
{
    private RingSnapshot? _current;

    /// <summary>Raised after a new snapshot is published.</summary>
    public event Action<RingSnapshot, RingSnapshot?>? Changed;

    /// <summary>The current snapshot, or null before the first membership is known.</summary>
    public RingSnapshot? Current => Volatile.Read(ref _current);

    /// <summary>Publishes <paramref name="snapshot"/>; callers serialize publication (see <see cref="MembershipManager"/>).</summary>
    public void Publish(RingSnapshot snapshot)
    {
        var previous = Interlocked.Exchange(ref _current, snapshot);
        Changed?.Invoke(snapshot, previous);
    }
}
