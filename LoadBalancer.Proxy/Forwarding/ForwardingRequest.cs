using LoadBalancer.Proxy.Balancing;
using System.Net.Http;
using Microsoft.Extensions.ObjectPool;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// The state of one client request across its attempts: the ring snapshot it was routed on, its key hash, the servers
/// already tried and whether its body can be replayed. Pooled; also set as an <c>HttpContext</c> feature so the
/// response transformer can see it.
/// </summary>
internal sealed class ForwardingRequest
{
    private readonly int[] _tried = new int[RetryOptionsLimits.MaxAttempts];
    private readonly TimeProvider _time;
    private int _triedCount;
    private CancellationTokenSource _forward;
    private long _startedAt;
    private long _sentAt;
    private bool _timeAnswers;
    private TimeSpan _attemptTimeout;
    private TimeSpan _totalTimeout;
    private bool _attemptOpen;
    private bool _boundByTotal;
    private RetryBudget? _budget;

    public ForwardingRequest(TimeProvider time, int observers, HttpMessageHandler connections)
    {
        _time = time;
        _forward = NewSource();
        Observations = new AttemptObservation[observers];
        Hedging = new HedgingInvoker(this, connections);
        Race = new HedgeRace(time);
    }

    public ProxyRequestHandler Handler { get; private set; } = null!;

    public HttpContext HttpContext { get; private set; } = null!;

    public TableSnapshot Snapshot { get; private set; } = null!;

    public ulong Hash { get; private set; }

    /// <summary>The server the key maps to now, picked before the pipeline ran; the first attempt goes there.</summary>
    public int FirstIndex { get; private set; }

    public int MaxAttempts { get; private set; }

    /// <summary>GET, HEAD, OPTIONS, PUT, DELETE: safe to send twice.</summary>
    public bool Idempotent { get; private set; }

    /// <summary>Whether the request carries a body.</summary>
    public bool HasBody { get; private set; }

    /// <summary>Whether the body (if any) is buffered and can be sent again.</summary>
    public bool Replayable { get; private set; }

    /// <summary>Whether a slow attempt of this request may be hedged: hedging is on, the method idempotent, no body.</summary>
    public bool Hedgeable { get; private set; }

    /// <summary>The invoker that hedges this request's attempts (see <see cref="ProxyRequestHandler.SendHedgedAsync"/>).</summary>
    public HedgingInvoker Hedging { get; }

    /// <summary>The current attempt's first send against the hedging delay.</summary>
    public HedgeRace Race { get; }

    /// <summary>The server the current attempt was hedged to, or null while it is not hedged.</summary>
    public BackendServer? HedgeServer { get; private set; }

    /// <summary>The request sent to <see cref="HedgeServer"/>.</summary>
    public HttpRequestMessage? HedgeMessage { get; private set; }

    /// <summary>Whether the hedge answered first: <see cref="Server"/> is then the hedge's server.</summary>
    public bool HedgeWon { get; private set; }

    /// <summary>The server of the current attempt.</summary>
    public BackendServer? Server { get; private set; }

    /// <summary>What <see cref="Telemetry.ProxyTelemetry"/> keeps between the start and the end of the current attempt.</summary>
    public AttemptObservation TelemetryObservation { get; set; }

    /// <summary>What each attempt observer keeps between the start and the end of the current attempt, in registration order.</summary>
    public AttemptObservation[] Observations { get; }

    /// <summary>Set by the transformer when it held back a 5xx answer so another server can be asked.</summary>
    public bool HeldBack { get; set; }

    /// <summary>Servers tried so far, as indices into the snapshot's table.</summary>
    public ReadOnlySpan<int> Tried => _tried.AsSpan(0, _triedCount);

    /// <summary>Whether the request holds a slot of the retry budget (it is returned when the request ends).</summary>
    public bool HoldsRetrySlot { get; private set; }

    /// <summary>Whether the retry budget refused this request a retry (set where the retry is decided).</summary>
    public bool RetryRefused { get; set; }

    /// <summary>Attempts made so far.</summary>
    public int Attempts => _triedCount;

    /// <summary>Whether the request's total deadline (<see cref="RetryOptions.TotalTimeout"/>) has passed.</summary>
    public bool DeadlinePassed =>
        // The timer counts whole milliseconds and may fire just before the clock reaches the deadline: an attempt cut
        // off by the total deadline means it passed, or a retry would be sent with nothing left to wait for it.
        (_boundByTotal && _forward.IsCancellationRequested) || _time.GetElapsedTime(_startedAt) >= _totalTimeout;

    /// <summary>Whether the current attempt's forward was cut off by a deadline (attempt or total).</summary>
    public bool TimedOut => _forward.IsCancellationRequested;

    public void Initialize(ProxyRequestHandler handler, HttpContext context, TableSnapshot snapshot, ulong hash, int firstIndex, RetryOptions retry, RetryBudget? budget, bool idempotent, bool hasBody, bool replayable, bool hedging, bool timeAnswers = false)
    {
        _timeAnswers = timeAnswers;
        Hedgeable = hedging && idempotent && !hasBody && retry.MaxAttempts > 1;
        _budget = budget;
        _startedAt = _time.GetTimestamp();
        _attemptTimeout = retry.AttemptTimeout;
        _totalTimeout = retry.TotalTimeout;
        Handler = handler;
        HttpContext = context;
        Snapshot = snapshot;
        Hash = hash;
        FirstIndex = firstIndex;
        MaxAttempts = retry.MaxAttempts;
        Idempotent = idempotent;
        HasBody = hasBody;
        Replayable = replayable;
    }

    /// <summary>Records an attempt to server <paramref name="index"/>; returns the attempt number (from 1).</summary>
    public int Begin(int index)
    {
        _attemptOpen = true;
        _tried[_triedCount++] = index;
        Server = Snapshot.Table.Servers[index];
        HeldBack = false;
        HedgeServer = null;
        HedgeMessage = null;
        HedgeWon = false;
        return _triedCount;
    }

    /// <summary>Records the hedge of the current attempt to server <paramref name="index"/>, sent as <paramref name="message"/>.</summary>
    public BackendServer BeginHedge(int index, HttpRequestMessage message)
    {
        _tried[_triedCount++] = index;
        HedgeServer = Snapshot.Table.Servers[index];
        HedgeMessage = message;
        return HedgeServer;
    }

    /// <summary>The hedge answered first: from here on the attempt is the hedge server's.</summary>
    public void HedgeAnsweredFirst()
    {
        HedgeWon = true;
        Server = HedgeServer;
    }

    /// <summary>
    /// The one question whether this request may be sent again, as a retry after a failed attempt or as a hedge beside
    /// a slow one: attempts left, the response untouched, the client still there, the deadline not passed, a server
    /// left for the key and, unless nothing reached the server, an idempotent method with a replayable body. Pure: it
    /// reads the request's state and changes nothing. The retry budget's slot is a separate, explicit step
    /// (<see cref="TryReserveRetry"/>), taken once a send that adds load is decided.
    /// </summary>
    /// <param name="nothingSent">No byte of the request reached the server (connection refused, breaker open).</param>
    /// <returns>The index of the server the send would go to (the key's next untried eligible one), or -1.</returns>
    public int ResendTarget(bool nothingSent) =>
        _triedCount < MaxAttempts
        && !HttpContext.Response.HasStarted
        && !HttpContext.RequestAborted.IsCancellationRequested
        && (nothingSent || (Idempotent && Replayable))
        && !DeadlinePassed
            ? Snapshot.Table.Pick(Hash, Tried)
            : -1;

    /// <summary>
    /// Takes a slot of the retry budget for this request (a retry or a hedge is about to be sent), or confirms the one
    /// it holds; false when the budget is spent. Called only once <see cref="ResendTarget"/> allowed the send, so a slot is
    /// taken only for a send that will happen.
    /// </summary>
    public bool TryReserveRetry()
    {
        if (_budget is null || HoldsRetrySlot)
        {
            return true;
        }

        HoldsRetrySlot = _budget.TryAcquire();
        return HoldsRetrySlot;
    }

    /// <summary>Marks the current attempt ended; false when it was already (so it is ended once).</summary>
    public bool TryEndAttempt()
    {
        var open = _attemptOpen;
        _attemptOpen = false;
        return open;
    }

    /// <summary>
    /// The token for YARP for one attempt: cancelled when the attempt timeout or the request's total deadline passes,
    /// whichever comes first, until the server's response headers arrive (<see cref="ResponseReceived"/>): a response
    /// that is streaming is not cut off by them (the forwarder's activity timeout still bounds silence). One pooled
    /// source and its timer per request instead of a timeout strategy per deadline: the first attempt allocates nothing.
    /// </summary>
    public CancellationToken BeginForward()
    {
        if (!_forward.TryReset())
        {
            _forward.Dispose();
            _forward = NewSource();
        }

        _sentAt = _time.GetTimestamp();
        var remaining = _totalTimeout - _time.GetElapsedTime(_startedAt, _sentAt);
        _boundByTotal = remaining <= _attemptTimeout;
        var timeout = _boundByTotal ? remaining : _attemptTimeout;
        _forward.CancelAfter(timeout > MinimumTimeout ? timeout : MinimumTimeout);
        return _forward.Token;
    }

    /// <summary>
    /// Called by the transformer when the server's response headers arrived: the deadlines stop applying, and the
    /// time they took counts for the server's hedging delay (not a hedged attempt's: its time is the delay's and the
    /// hedge's together).
    /// </summary>
    public void ResponseReceived()
    {
        _forward.CancelAfter(Timeout.InfiniteTimeSpan);
        if (_timeAnswers && HedgeServer is null)
        {
            Server!.AnswerTimes.Record(_time.GetElapsedTime(_sentAt));
        }
    }

    private static readonly TimeSpan MinimumTimeout = TimeSpan.FromMilliseconds(1);

    private CancellationTokenSource NewSource() => new(Timeout.InfiniteTimeSpan, _time);

    public void Reset()
    {
        Handler = null!;
        HttpContext = null!;
        Snapshot = null!;
        Server = null;
        HeldBack = false;
        _attemptOpen = false;
        _boundByTotal = false;
        _timeAnswers = false;
        _budget = null;
        HoldsRetrySlot = false;
        RetryRefused = false;
        Hedgeable = false;
        HedgeServer = null;
        HedgeMessage = null;
        HedgeWon = false;
        TelemetryObservation = default;
        Array.Clear(Observations);
        _triedCount = 0;
    }

    /// <summary>Pool policy: state objects are reset on return.</summary>
    public sealed class Policy(TimeProvider time, int observers, HttpMessageHandler connections) : PooledObjectPolicy<ForwardingRequest>
    {
        public override ForwardingRequest Create() => new(time, observers, connections);

        public override bool Return(ForwardingRequest obj)
        {
            obj.Reset();
            return true;
        }
    }
}
