namespace LoadBalancer.Proxy.Balancing;

/// <summary>
/// One server the proxy can route to, with the live state that balancing tables consult at lookup time.
/// </summary>
/// <remarks>
/// An <see cref="BackendServer"/> outlives table rebuilds: when membership changes, servers that stay keep their
/// object, so health, breaker and load state carry over. Its state is read lock-free on the request path.
/// </remarks>
public sealed class BackendServer
{
    private int _unavailable;
    private int _inFlight;
    private long _served;

    /// <summary>Creates a server named <paramref name="name"/> at <paramref name="address"/>.</summary>
    public BackendServer(string name, Uri address, int weight = 1)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(address);
        ArgumentOutOfRangeException.ThrowIfLessThan(weight, 1);
        Name = name;
        Address = address;
        Weight = weight;
        DestinationPrefix = address.GetLeftPart(UriPartial.Path).TrimEnd('/');
        Port = address.Port;
    }

    /// <summary>The ring server's name, e.g. <c>server2</c>; also sent in <c>X-Upstream-Server</c>.</summary>
    public string Name { get; }

    /// <summary>The server's base address.</summary>
    public Uri Address { get; }

    /// <summary>The address's port, boxed once: spans tag every request with it.</summary>
    public object Port { get; }

    /// <summary>The address as the forwarder wants it: scheme, authority and base path, no trailing slash.</summary>
    public string DestinationPrefix { get; }

    /// <summary>Relative weight: a server of weight 2 owns about twice the key space of weight 1.</summary>
    public int Weight { get; }

    /// <summary>True when no health signal holds the server out of routing.</summary>
    public bool IsAvailable => Volatile.Read(ref _unavailable) == 0;

    /// <summary>The reasons the server is currently held out of routing (none when available).</summary>
    public UnavailableReasons UnavailableReasons => (UnavailableReasons)Volatile.Read(ref _unavailable);

    /// <summary>Requests currently in flight to this server.</summary>
    public int InFlight => Volatile.Read(ref _inFlight);

    /// <summary>Requests this server has answered since it was first seen.</summary>
    public long Served => Interlocked.Read(ref _served);

    /// <summary>Sets or clears one reason for holding the server out; returns true when availability changed.</summary>
    public bool SetUnavailable(UnavailableReasons reason, bool unavailable)
    {
        var before = unavailable
            ? Interlocked.Or(ref _unavailable, (int)reason)
            : Interlocked.And(ref _unavailable, ~(int)reason);
        var after = unavailable ? before | (int)reason : before & ~(int)reason;
        return (before == 0) != (after == 0);
    }

    /// <summary>Counts a request sent to this server; pair with <see cref="EndRequest"/>.</summary>
    public void BeginRequest() => Interlocked.Increment(ref _inFlight);

    /// <summary>Counts a request to this server as finished.</summary>
    public void EndRequest(bool served)
    {
        Interlocked.Decrement(ref _inFlight);
        if (served)
        {
            Interlocked.Increment(ref _served);
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name} ({Address})";
}
