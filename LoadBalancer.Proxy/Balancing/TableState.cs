namespace LoadBalancer.Proxy.Balancing;

/// <summary>Holds the current <see cref="TableSnapshot"/>; readers never lock, writers swap the reference.</summary>
public sealed class TableState
{
    private TableSnapshot? _current;

    /// <summary>Raised after a new snapshot is published.</summary>
    public event Action<TableSnapshot, TableSnapshot?>? Changed;

    /// <summary>The current snapshot, or null before the first membership is known.</summary>
    public TableSnapshot? Current => Volatile.Read(ref _current);

    /// <summary>Publishes <paramref name="snapshot"/>; callers serialize publication (see <see cref="Membership.MembershipManager"/>).</summary>
    public void Publish(TableSnapshot snapshot)
    {
        var previous = Interlocked.Exchange(ref _current, snapshot);
        Changed?.Invoke(snapshot, previous);
    }
}
