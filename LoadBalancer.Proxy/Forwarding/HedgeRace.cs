using System.Net.Http;
using System.Threading.Tasks.Sources;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// The first send of a hedgeable attempt against the hedging delay: whichever comes first. Most sends answer well
/// within the delay, so this is all they pay for hedging: a timer that is armed and disarmed, two cancellation
/// registrations, no allocation. Only a send still waiting when the delay passes enters Polly's hedging
/// (<see cref="ProxyRequestHandler.SendHedgedAsync"/>). One per pooled <see cref="ForwardingRequest"/>.
/// </summary>
internal sealed class HedgeRace : IValueTaskSource<bool>
{
    private readonly TimeProvider _time;
    private readonly ITimer _timer;
    private readonly Action _sendCompleted;
    private ManualResetValueTaskSourceCore<bool> _winner = new() { RunContinuationsAsynchronously = true };
    private CancellationTokenSource _send = new();
    private CancellationTokenRegistration _link;
    private CancellationTokenRegistration _left;
    private int _settled;
    private long _armedAt;
    private TimeSpan _delay;

    public HedgeRace(TimeProvider time)
    {
        _time = time;
        // The callback stays on a send after its race was decided by the delay; the pooled race may serve another
        // request by the time that send completes, so it settles only a race whose own send has completed.
        _sendCompleted = () =>
        {
            if (Send is { IsCompleted: true })
            {
                Settle(sendFirst: true);
            }
        };
        _timer = time.CreateTimer(static state => ((HedgeRace)state!).DelayPassed(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
    }

    /// <summary>The attempt's request as YARP made it (a hedge copies it).</summary>
    public HttpRequestMessage? Message { get; private set; }

    /// <summary>The first send, started by <see cref="Start"/>.</summary>
    public Task<HttpResponseMessage>? Send { get; private set; }

    /// <summary>
    /// Starts the first send with a token of its own, cancelled with <paramref name="cancellationToken"/> (YARP's) or
    /// by <see cref="CancelSend"/>, when a hedge answers first.
    /// </summary>
    public Task<HttpResponseMessage> Start(HedgingInvoker invoker, HttpRequestMessage message, CancellationToken cancellationToken)
    {
        if (!_send.TryReset())
        {
            _send.Dispose();
            _send = new CancellationTokenSource();
        }

        _link = cancellationToken.UnsafeRegister(static state => ((CancellationTokenSource)state!).Cancel(), _send);
        Message = message;
        Send = invoker.SendDirectAsync(message, _send.Token);
        return Send;
    }

    /// <summary>
    /// Completes with true when the send completes within <paramref name="delay"/>, false when the delay passes first
    /// or the send's server leaves routing (<paramref name="leftRouting"/>): its requests are hedged at once then.
    /// </summary>
    public ValueTask<bool> SendWithinAsync(TimeSpan delay, CancellationToken leftRouting)
    {
        _winner.Reset();
        _settled = 0;
        _delay = delay;
        _armedAt = _time.GetTimestamp();
        _timer.Change(delay, Timeout.InfiniteTimeSpan);
        // Disposed in End, so unlike the timer's tick it never reaches a later race of the pooled request.
        _left = leftRouting.UnsafeRegister(static state => ((HedgeRace)state!).Settle(sendFirst: false), this);
        Send!.ConfigureAwait(false).GetAwaiter().UnsafeOnCompleted(_sendCompleted);
        return new ValueTask<bool>(this, _winner.Version);
    }

    /// <summary>Cancels the first send: a hedge answered first.</summary>
    public void CancelSend() => _send.Cancel();

    /// <summary>The attempt is over: the first send's link to YARP's token goes, and so does the request.</summary>
    public void End()
    {
        _timer.Change(Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        _left.Dispose();
        _left = default;
        _link.Dispose();
        _link = default;
        Message = null;
        Send = null;
    }

    private void DelayPassed()
    {
        // The timer serves every race of the pooled request: a late tick of an earlier one (just after this one was
        // armed) must not decide it. A tick of its own may come a little early: the timer counts whole milliseconds.
        if (_time.GetElapsedTime(_armedAt) >= _delay / 2)
        {
            Settle(sendFirst: false);
        }
    }

    private void Settle(bool sendFirst)
    {
        if (Interlocked.Exchange(ref _settled, 1) == 0)
        {
            _winner.SetResult(sendFirst);
        }
    }

    bool IValueTaskSource<bool>.GetResult(short token) => _winner.GetResult(token);

    ValueTaskSourceStatus IValueTaskSource<bool>.GetStatus(short token) => _winner.GetStatus(token);

    void IValueTaskSource<bool>.OnCompleted(Action<object?> continuation, object? state, short token, ValueTaskSourceOnCompletedFlags flags) =>
        _winner.OnCompleted(continuation, state, token, flags);
}
