using LoadBalancer.Proxy.Membership;
using LoadBalancer.Proxy.Ring;
using Microsoft.Extensions.ObjectPool;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// The state of one client request across its attempts: the ring snapshot it was routed on, its key hash, the members
/// already tried and whether its body can be replayed. Pooled; also set as an <c>HttpContext</c> feature so the
/// response transformer can see it.
/// </summary>
internal sealed class ForwardingRequest
{
    private readonly int[] _tried = new int[RetryOptionsLimits.MaxAttempts];
    private int _triedCount;
    private CancellationTokenSource _forward = new();
    private CancellationTokenRegistration _deadline;
    private volatile bool _responseReceived;

    public ProxyRequestHandler Handler { get; private set; } = null!;

    public HttpContext HttpContext { get; private set; } = null!;

    public RingSnapshot Snapshot { get; private set; } = null!;

    public ulong Hash { get; private set; }

    /// <summary>The member the key maps to now, picked before the pipeline ran; the first attempt goes there.</summary>
    public int FirstIndex { get; private set; }

    public int MaxAttempts { get; private set; }

    /// <summary>GET, HEAD, OPTIONS, PUT, DELETE: safe to send twice.</summary>
    public bool Idempotent { get; private set; }

    /// <summary>Whether the request carries a body.</summary>
    public bool HasBody { get; private set; }

    /// <summary>Whether the body (if any) is buffered and can be sent again.</summary>
    public bool Replayable { get; private set; }

    /// <summary>The member of the current attempt.</summary>
    public Upstream? Member { get; private set; }

    /// <summary>Set by the transformer when it held back a 5xx answer so another member can be asked.</summary>
    public bool HeldBack { get; set; }

    /// <summary>Members tried so far, as indices into the snapshot's table.</summary>
    public ReadOnlySpan<int> Tried => _tried.AsSpan(0, _triedCount);

    /// <summary>Attempts made so far.</summary>
    public int Attempts => _triedCount;

    public void Initialize(ProxyRequestHandler handler, HttpContext context, RingSnapshot snapshot, ulong hash, int firstIndex, int maxAttempts, bool idempotent, bool hasBody, bool replayable)
    {
        Handler = handler;
        HttpContext = context;
        Snapshot = snapshot;
        Hash = hash;
        FirstIndex = firstIndex;
        MaxAttempts = maxAttempts;
        Idempotent = idempotent;
        HasBody = hasBody;
        Replayable = replayable;
    }

    /// <summary>Records an attempt to member <paramref name="index"/>; returns the attempt number (from 1).</summary>
    public int Begin(int index)
    {
        _tried[_triedCount++] = index;
        Member = Snapshot.Table.Members[index];
        HeldBack = false;
        return _triedCount;
    }

    /// <summary>
    /// Whether a failure of the current attempt may be retried at all: attempts left, a member left to try and,
    /// unless nothing reached the member, an idempotent method with a replayable body.
    /// </summary>
    public bool CanRetry(bool nothingSent) =>
        _triedCount < MaxAttempts
        && !HttpContext.Response.HasStarted
        && !HttpContext.RequestAborted.IsCancellationRequested
        && (nothingSent || (Idempotent && Replayable))
        && Snapshot.Table.Pick(Hash, Tried) >= 0;

    /// <summary>
    /// The token for YARP for one attempt. The attempt's deadlines (Polly's per-attempt and total timeouts) cancel it
    /// only until the member's response headers arrive: a response that is streaming is not cut off by them (the
    /// forwarder's activity timeout still bounds silence).
    /// </summary>
    public CancellationToken BeginForward(CancellationToken deadlines)
    {
        if (!_forward.TryReset())
        {
            _forward.Dispose();
            _forward = new CancellationTokenSource();
        }

        _responseReceived = false;
        _deadline = deadlines.UnsafeRegister(static state => ((ForwardingRequest)state!).DeadlinePassed(), this);
        return _forward.Token;
    }

    /// <summary>Ends the attempt started by <see cref="BeginForward"/>.</summary>
    public void EndForward() => _deadline.Dispose();

    /// <summary>Called by the transformer when the member's response headers arrived.</summary>
    public void ResponseReceived() => _responseReceived = true;

    private void DeadlinePassed()
    {
        if (!_responseReceived)
        {
            _forward.Cancel();
        }
    }

    public void Reset()
    {
        Handler = null!;
        HttpContext = null!;
        Snapshot = null!;
        Member = null;
        HeldBack = false;
        _triedCount = 0;
    }

    /// <summary>Pool policy: state objects are reset on return.</summary>
    public sealed class Policy : PooledObjectPolicy<ForwardingRequest>
    {
        public override ForwardingRequest Create() => new();

        public override bool Return(ForwardingRequest obj)
        {
            obj.Reset();
            return true;
        }
    }
}

/// <summary>Limits shared by <see cref="RetryOptions"/> and the per-request state.</summary>
internal static class RetryOptionsLimits
{
    public const int MaxAttempts = 10;
}
