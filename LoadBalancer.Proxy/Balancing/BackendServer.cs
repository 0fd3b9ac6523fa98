using System.Diagnostics;

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
    private const int ReasonsShift = 32;

    // Low 32 bits: requests in flight; high 32 bits: the UnavailableReasons. One word, so that a request starting or
    // ending and the server leaving or rejoining routing are ordered against each other: that keeps Tally exact.
    private long _state;
    private long _served;
    private int _outpacedInARow;
    private readonly Lock _routingGate = new();
    private CancellationTokenSource _inRouting = new();

    /// <summary>
    /// Creates a server named <paramref name="name"/> at <paramref name="address"/>; servers that share a
    /// <paramref name="tally"/> keep their total in flight there (the membership gives all its servers one).
    /// </summary>
    public BackendServer(string name, Uri address, int weight = 1, InFlightTally? tally = null)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(name);
        ArgumentNullException.ThrowIfNull(address);
        ArgumentOutOfRangeException.ThrowIfLessThan(weight, 1);
        Name = name;
        Address = address;
        Weight = weight;
        DestinationPrefix = address.GetLeftPart(UriPartial.Path).TrimEnd('/');
        Port = address.Port;
        Tally = tally;
    }

    /// <summary>The tally this server counts its in-flight requests into, if any.</summary>
    public InFlightTally? Tally { get; }

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
    public bool IsAvailable => Volatile.Read(ref _state) >>> ReasonsShift == 0;

    /// <summary>The reasons the server is currently held out of routing (none when available).</summary>
    public UnavailableReasons UnavailableReasons => (UnavailableReasons)(int)(Volatile.Read(ref _state) >>> ReasonsShift);

    /// <summary>Requests currently in flight to this server.</summary>
    public int InFlight => (int)Volatile.Read(ref _state);

    /// <summary>Requests this server has answered since it was first seen.</summary>
    public long Served => Interlocked.Read(ref _served);

    /// <summary>How fast it has been answering lately, for a hedging delay of its own (<c>Hedging:DelayPercentile</c>).</summary>
    public AnswerTimes AnswerTimes { get; } = new();

    /// <summary>
    /// Cancelled when the server leaves routing, and a fresh token once it is back: a request waiting on it need not
    /// wait out its hedging delay (see <c>HedgeRace</c>).
    /// </summary>
    public CancellationToken LeftRouting => Volatile.Read(ref _inRouting).Token;

    /// <summary>Counts an attempt of this server's that its hedge outpaced; returns how many in a row, with no answer between.</summary>
    public int Outpaced() => Interlocked.Increment(ref _outpacedInARow);

    /// <summary>Starts the count of <see cref="Outpaced"/> attempts afresh (the server is given another chance).</summary>
    public void ForgetOutpaced() => Volatile.Write(ref _outpacedInARow, 0);

    /// <summary>Sets or clears one reason for holding the server out; returns true when availability changed.</summary>
    public bool SetUnavailable(UnavailableReasons reason, bool unavailable)
    {
        var bits = (long)(uint)reason << ReasonsShift;
        var before = unavailable ? Interlocked.Or(ref _state, bits) : Interlocked.And(ref _state, ~bits);
        var reasonsBefore = (int)(before >>> ReasonsShift);
        var reasonsAfter = unavailable ? reasonsBefore | (int)reason : reasonsBefore & ~(int)reason;
        var changed = (reasonsBefore == 0) != (reasonsAfter == 0);
        if (changed && Tally is { } tally)
        {
            // The in-flight count at the very change: out of the available total on leaving, back in on rejoining.
            tally.Add(reasonsAfter == 0 ? (int)before : -(int)before);
            tally.AvailabilityChanged();
        }

        if (changed)
        {
            SignalRouting();
        }

        return changed;
    }

    // Rare (a leave or a rejoin), so a lock; the state is read again under it, so two changes racing each other still
    // leave the token as the latest availability says.
    private void SignalRouting()
    {
        lock (_routingGate)
        {
            var current = _inRouting;
            if (!IsAvailable)
            {
                // Its callbacks only settle waiting hedge races (their continuations run elsewhere).
                current.Cancel();
            }
            else if (current.IsCancellationRequested)
            {
                // The cancelled source is left to the collector: requests still registered on it dispose their registrations later.
                Volatile.Write(ref _inRouting, new CancellationTokenSource());
            }
        }
    }

    /// <summary>Counts a request sent to this server; pair with <see cref="EndRequest"/>.</summary>
    public void BeginRequest() => Began(Interlocked.Increment(ref _state));

    /// <summary>
    /// Counts a request sent to this server, as <see cref="BeginRequest"/>, only if it holds fewer than
    /// <paramref name="capacity"/> (or none: an idle server takes a request whatever the bound); false counts nothing.
    /// </summary>
    public bool TryBeginRequest(long capacity)
    {
        var state = Volatile.Read(ref _state);
        while (true)
        {
            var inFlight = (int)state;
            if (inFlight != 0 && inFlight >= capacity)
            {
                return false;
            }

            var seen = Interlocked.CompareExchange(ref _state, state + 1, state);
            if (seen == state)
            {
                break;
            }

            state = seen;
        }

        Began(state + 1);
        return true;
    }

    // A request was counted, leaving the state word at after: an available server's counts into the available total.
    private void Began(long after)
    {
        if (Tally is { } tally && after >>> ReasonsShift == 0)
        {
            tally.Add(1);
        }
    }

    /// <summary>Counts a request to this server as finished.</summary>
    public void EndRequest(bool served)
    {
        var after = Interlocked.Decrement(ref _state);
        Debug.Assert((int)after >= 0, "EndRequest without BeginRequest: the count would borrow from the reasons.");
        if (Tally is { } tally && after >>> ReasonsShift == 0)
        {
            tally.Add(-1);
        }

        if (served)
        {
            Interlocked.Increment(ref _served);
            // Read first: the common case (nothing outpaced) writes nothing to a line every request shares.
            if (Volatile.Read(ref _outpacedInARow) != 0)
            {
                Volatile.Write(ref _outpacedInARow, 0);
            }
        }
    }

    /// <inheritdoc />
    public override string ToString() => $"{Name} ({Address})";
}
