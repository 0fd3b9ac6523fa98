using System.Runtime.CompilerServices;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Forwarding;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;

namespace LoadBalancer.Proxy.Health;

/// <summary>
/// One Polly circuit breaker per server (passive health): connection failures, timeouts and 5xx open it; while it
/// is open the server is out of routing; after the break a single trial request decides whether it closes again.
/// Attempts outpaced by their hedges several times in a row take the server out for a break too
/// (<see cref="CircuitBreakerOptions.OutpacedToOpen"/>).
/// </summary>
/// <remarks>
/// Keyed by the <see cref="BackendServer"/> object rather than its name: a server whose address changed is a new object
/// and starts with a closed breaker, and breakers of servers gone from the ring are collected with them.
/// Polly only moves an open breaker to half-open when an execution arrives, and a server held out of routing gets
/// none; so when the break ends a timer lets the server back, and the next request to it is the trial.
/// </remarks>
public sealed partial class ServerCircuitBreakers
{
    private readonly ConditionalWeakTable<BackendServer, ServerBreaker> _breakers = new();
    private readonly ConditionalWeakTable<BackendServer, ServerBreaker>.CreateValueCallback _create;
    private readonly CircuitBreakerOptions _options;
    private readonly TimeProvider _time;
    private readonly ServerAvailability _availability;
    private readonly HealthMetrics _metrics;
    private readonly ILogger<ServerCircuitBreakers> _logger;

    /// <summary>Creates the registry.</summary>
    public ServerCircuitBreakers(
        IOptions<CircuitBreakerOptions> options,
        TimeProvider time,
        ServerAvailability availability,
        HealthMetrics metrics,
        ILogger<ServerCircuitBreakers> logger)
    {
        _options = options.Value;
        _time = time;
        _availability = availability;
        _metrics = metrics;
        _logger = logger;
        _create = Create;
    }

    /// <summary>The breaker pipeline of <paramref name="server"/>, created on first use.</summary>
    public ResiliencePipeline<AttemptResult> For(BackendServer server) => _breakers.GetValue(server, _create).Pipeline;

    /// <summary>
    /// An attempt of <paramref name="server"/>'s was outpaced by its hedge: after
    /// <see cref="CircuitBreakerOptions.OutpacedToOpen"/> in a row the server leaves routing for the break duration.
    /// </summary>
    public void Outpaced(BackendServer server)
    {
        if (_options.Enabled && _options.OutpacedToOpen > 0 && server.Outpaced() == _options.OutpacedToOpen)
        {
            _breakers.GetValue(server, _create).Outpaced(_options.OutpacedToOpen, _options.BreakDuration);
        }
    }

    /// <summary>The breaker state of <paramref name="server"/>; closed when it has no breaker yet.</summary>
    public CircuitState StateOf(BackendServer server) =>
        _breakers.TryGetValue(server, out var breaker) ? breaker.State : CircuitState.Closed;

    private ServerBreaker Create(BackendServer server)
    {
        var breaker = new ServerBreaker(this, server);
        if (!_options.Enabled)
        {
            breaker.Pipeline = ResiliencePipeline<AttemptResult>.Empty;
            return breaker;
        }

        breaker.Pipeline = new ResiliencePipelineBuilder<AttemptResult> { Name = "server-breaker", InstanceName = server.Name, TimeProvider = _time }
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

    /// <summary>The breaker of one server and the timer that lets the server back after a break.</summary>
    private sealed class ServerBreaker
    {
        private readonly ServerCircuitBreakers _owner;
        private readonly BackendServer _server;
        private readonly ITimer _readmit;

        public ServerBreaker(ServerCircuitBreakers owner, BackendServer server)
        {
            _owner = owner;
            _server = server;
            _readmit = owner._time.CreateTimer(
                static state => ((ServerBreaker)state!).Readmit(), this, Timeout.InfiniteTimeSpan, Timeout.InfiniteTimeSpan);
        }

        public ResiliencePipeline<AttemptResult> Pipeline { get; set; } = ResiliencePipeline<AttemptResult>.Empty;

        public CircuitBreakerStateProvider StateProvider { get; } = new();

        public CircuitState State => Pipeline == ResiliencePipeline<AttemptResult>.Empty ? CircuitState.Closed : StateProvider.CircuitState;

        public void Opened(TimeSpan breakDuration)
        {
            Transition("open");
            _owner._availability.Set(_server, UnavailableReasons.CircuitBreaker, unavailable: true);
            _readmit.Change(breakDuration, Timeout.InfiniteTimeSpan);
        }

        public void Outpaced(int inARow, TimeSpan breakDuration)
        {
            LogOutpaced(_owner._logger, _server.Name, inARow, breakDuration);
            _owner._availability.Set(_server, UnavailableReasons.Outpaced, unavailable: true);
            _readmit.Change(breakDuration, Timeout.InfiniteTimeSpan);
        }

        public void Closed()
        {
            Transition("closed");
            _owner._availability.Set(_server, UnavailableReasons.CircuitBreaker, unavailable: false);
        }

        public void Transition(string state)
        {
            _owner._metrics.BreakerTransition(_server.Name, state);
            LogBreakerTransition(_owner._logger, _server.Name, state);
        }

        // The break is over: let requests reach the server again; the first one is Polly's half-open trial. One
        // outpaced again as often as before is out again.
        private void Readmit()
        {
            _server.ForgetOutpaced();
            _owner._availability.Set(_server, UnavailableReasons.Outpaced, unavailable: false);
            _owner._availability.Set(_server, UnavailableReasons.CircuitBreaker, unavailable: false);
        }
    }

    [LoggerMessage(EventId = 311, Level = LogLevel.Warning, Message = "Server {Server} was outpaced by its hedges {Count} times in a row, answering nothing: out of routing for {BreakDuration}")]
    private static partial void LogOutpaced(ILogger logger, string server, int count, TimeSpan breakDuration);

    [LoggerMessage(EventId = 310, Level = LogLevel.Information, Message = "Circuit breaker of {Server} is now {State}")]
    private static partial void LogBreakerTransition(ILogger logger, string server, string state);
}
