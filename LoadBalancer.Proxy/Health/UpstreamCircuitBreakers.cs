using System.Runtime.CompilerServices;
using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Proxy.Ring;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;

namespace LoadBalancer.Proxy.Health;

/// <summary>
/// One Polly circuit breaker per member (passive health): connection failures, timeouts and 5xx open it; while it
/// is open the member is out of routing; after the break a single trial request decides whether it closes again.
/// </summary>
/// <remarks>
/// Keyed by the <see cref="Upstream"/> object rather than its name: a member whose address changed is a new object
/// and starts with a closed breaker, and breakers of members gone from the ring are collected with them.
/// Polly only moves an open breaker to half-open when an execution arrives, and a member held out of routing gets
/// none; so when the break ends a timer lets the member back, and the next request to it is the trial.
/// </remarks>
public sealed partial class UpstreamCircuitBreakers
{
    private readonly ConditionalWeakTable<Upstream, UpstreamBreaker> _breakers = new();
    private readonly ConditionalWeakTable<Upstream, UpstreamBreaker>.CreateValueCallback _create;
    private readonly CircuitBreakerOptions _options;
    private readonly TimeProvider _time;
    private readonly UpstreamAvailability _availability;
    private readonly HealthMetrics _metrics;
    private readonly ILogger<UpstreamCircuitBreakers> _logger;

    /// <summary>Creates the registry.</summary>
    public UpstreamCircuitBreakers(
        IOptions<CircuitBreakerOptions> options,
        TimeProvider time,
        UpstreamAvailability availability,
        HealthMetrics metrics,
        ILogger<UpstreamCircuitBreakers> logger)
    {
        _options = options.Value;
        _time = time;
        _availability = availability;
        _metrics = metrics;
        _logger = logger;
        _create = Create;
    }

    /// <summary>The breaker pipeline of <paramref name="member"/>, created on first use.</summary>
    public ResiliencePipeline<AttemptResult> For(Upstream member) => _breakers.GetValue(member, _create).Pipeline;

    /// <summary>The breaker state of <paramref name="member"/>; closed when it has no breaker yet.</summary>
    public CircuitState StateOf(Upstream member) =>
        _breakers.TryGetValue(member, out var breaker) ? breaker.State : CircuitState.Closed;

    private UpstreamBreaker Create(Upstream member)
    {
        var breaker = new UpstreamBreaker(this, member);
        if (!_options.Enabled)
        {
            breaker.Pipeline = ResiliencePipeline<AttemptResult>.Empty;
            return breaker;
        }

        breaker.Pipeline = new ResiliencePipelineBuilder<AttemptResult> { Name = "upstream-breaker", InstanceName = member.Name, TimeProvider = _time }
            .AddCircuitBreaker(new CircuitBreakerStrategyOptions<AttemptResult>
            {
                FailureRatio = _options.FailureRatio,
                MinimumThroughput = _options.MinimumThroughput,
                SamplingDuration = _options.SamplingDuration,
                BreakDuration = _options.BreakDuration,
                StateProvider = breaker.StateProvider,
                // A cancelled attempt is the client's doing (or the deadline's, counted as a timeout result instead).
                ShouldHandle = static args => new ValueTask<bool>(
                    args.Outcome.Exception is { } exception ? exception is not OperationCanceledException : args.Outcome.Result.IsServerFault),
                OnOpened = args =>
                {
                    breaker.Opened(args.BreakDuration);
                    return default;
                },
                OnHalfOpened = _ =>
                {
                    breaker.Transition("half_open");
                    return default;
                },
                OnClosed = _ =>
                {
                    breaker.Closed();
                    return default;
                },
            })
            .Build();
        return breaker;
    }

    /// <summary>The breaker of one member and the timer that lets the member back after a break.</summary>
    private sealed class UpstreamBreaker
    {
        private readonly UpstreamCircuitBreakers _owner;
        private readonly Upstream _member;
        private readonly ITimer _readmit;

        public UpstreamBreaker(UpstreamCircuitBreakers owner, Upstream member)
        {
            _owner = owner;
            _member = member;
            _readmit = owner._time.CreateTimer(
                static state => ((UpstreamBreaker)state!).Readmit(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        public ResiliencePipeline<AttemptResult> Pipeline { get; set; } = ResiliencePipeline<AttemptResult>.Empty;

        public CircuitBreakerStateProvider StateProvider { get; } = new();

        public CircuitState State => Pipeline == ResiliencePipeline<AttemptResult>.Empty ? CircuitState.Closed : StateProvider.CircuitState;

        public void Opened(TimeSpan breakDuration)
        {
            Transition("open");
            _owner._availability.Set(_member, UnavailableReasons.CircuitBreaker, unavailable: true);
            _readmit.Change(breakDuration, Timeout.InfiniteTimeSpan);
        }

        public void Closed()
        {
            Transition("closed");
            _owner._availability.Set(_member, UnavailableReasons.CircuitBreaker, unavailable: false);
        }

        public void Transition(string state)
        {
            _owner._metrics.BreakerTransition(_member.Name, state);
            LogBreakerTransition(_owner._logger, _member.Name, state);
        }

        // The break is over: let requests reach the member again; the first one is Polly's half-open trial.
        private void Readmit() => _owner._availability.Set(_member, UnavailableReasons.CircuitBreaker, unavailable: false);
    }

    [LoggerMessage(EventId = 310, Level = LogLevel.Information, Message = "Circuit breaker of {Member} is now {State}")]
    private static partial void LogBreakerTransition(ILogger logger, string member, string state);
}
