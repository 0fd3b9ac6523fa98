using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using LoadBalancer.Proxy.Membership;
using LoadBalancer.Proxy.Ring;
using Microsoft.Extensions.Options;
using Polly.CircuitBreaker;
using Yarp.ReverseProxy.Forwarder;

namespace LoadBalancer.Proxy.Telemetry;

/// <summary>
/// The proxy's traces and metrics: one <see cref="ActivitySource"/> and one <see cref="Meter"/>, both named
/// <see cref="ProxyApplication.TelemetryName"/>.
/// </summary>
/// <remarks>
/// <para>A forwarded request is traced as a proxy span (<see cref="StartProxyActivity"/>) with one child span per attempt
/// (<see cref="StartAttempt"/>); YARP's HttpClient span and the server's span nest below the attempt, so one request is
/// one trace client → proxy → server.</para>
/// <para>Everything here may run per request: when nobody listens, activities are null and instruments are disabled, and
/// no method allocates beyond what a listening exporter needs (tags travel in a stack-allocated <see cref="TagList"/>).</para>
/// <para>Keys remapped by a membership change are measured from <see cref="RingState.Changed"/>, on the thread that
/// publishes the new ring, never on the request path.</para>
/// </remarks>
public sealed partial class ProxyTelemetry : IDisposable
{
    /// <summary>Span attribute: the routing key's hash in hex (never the raw key unless configured).</summary>
    public const string KeyHashAttribute = "loadbalancer.key.hash";

    /// <summary>Span attribute: the raw routing key, only with <see cref="TelemetryOptions.IncludeRoutingKey"/>.</summary>
    public const string RoutingKeyAttribute = "loadbalancer.routing_key";

    /// <summary>Span and metric attribute: the ring member's name (<c>server2</c>).</summary>
    public const string MemberAttribute = "loadbalancer.member";

    /// <summary>Span attribute: the 1-based number of this attempt (the proxy span: how many attempts were made).</summary>
    public const string AttemptAttribute = "loadbalancer.attempt";

    /// <summary>Span and metric attribute: why an attempt is a retry.</summary>
    public const string RetryReasonAttribute = "loadbalancer.retry.reason";

    /// <summary>Metric attribute: how an attempt ended (<see cref="RequestOutcome"/>).</summary>
    public const string OutcomeAttribute = "loadbalancer.outcome";

    /// <summary>Metric attribute: the circuit breaker state entered.</summary>
    public const string BreakerStateAttribute = "loadbalancer.circuit_breaker.state";

    /// <summary>Metric attribute: whether a member may take requests (<c>healthy</c>/<c>unavailable</c>).</summary>
    public const string MemberStateAttribute = "loadbalancer.member.state";

    /// <summary>Name of the proxy span.</summary>
    public const string ProxyActivityName = "loadbalancer.proxy";

    /// <summary>Name of an attempt span.</summary>
    public const string AttemptActivityName = "loadbalancer.attempt";

    // OpenTelemetry semantic conventions (HTTP and general attributes).
    private const string ServerAddressAttribute = "server.address";
    private const string ServerPortAttribute = "server.port";
    private const string ResendCountAttribute = "http.request.resend_count";
    private const string StatusCodeAttribute = "http.response.status_code";
    private const string ErrorTypeAttribute = "error.type";

    // The HTTP semantic conventions' advised boundaries for request durations, in seconds.
    private static readonly double[] DurationBuckets = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

    private static readonly string[] OutcomeNames = ["success", "server_error", "failure", "no_server"];

    private readonly ActivitySource _source;
    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _breakerTransitions;
    private readonly Counter<long> _ringChanges;
    private readonly Gauge<double> _keysRemapped;
    private readonly RingState _ring;
    private readonly TelemetryOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ProxyTelemetry> _logger;
    private RemapReport? _lastRemap;

    /// <summary>Creates the source and instruments and starts following ring changes.</summary>
    public ProxyTelemetry(
        IMeterFactory meterFactory,
        RingState ring,
        IOptions<TelemetryOptions> options,
        TimeProvider time,
        ILogger<ProxyTelemetry> logger)
    {
        _ring = ring;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _source = new ActivitySource(ProxyApplication.TelemetryName);
        _meter = meterFactory.Create(new MeterOptions(ProxyApplication.TelemetryName));

        _requests = _meter.CreateCounter<long>(
            "loadbalancer.upstream.requests", "{request}",
            "Attempts forwarded to ring members, by member and outcome (no_server: none was available).");
        _duration = _meter.CreateHistogram(
            "loadbalancer.upstream.duration", "s",
            "Time from sending an attempt to a member until its response was relayed or the attempt failed.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _retries = _meter.CreateCounter<long>(
            "loadbalancer.retries", "{retry}", "Attempts that were retries, by reason and by the member retried away from.");
        _breakerTransitions = _meter.CreateCounter<long>(
            "loadbalancer.circuit_breaker.transitions", "{transition}", "Circuit breaker state changes, by member and state entered.");
        _ringChanges = _meter.CreateCounter<long>(
            "loadbalancer.ring.changes", "{change}", "Ring membership changes (a new table was published).");
        _keysRemapped = _meter.CreateGauge<double>(
            "loadbalancer.ring.keys_remapped", "1", "Share of the key space that moved to another member at the last membership change.");
        _meter.CreateObservableUpDownCounter(
            "loadbalancer.ring.members", ObserveMembers, "{member}", "Ring members by state: healthy or unavailable (sum: total).");

        _ring.Changed += OnRingChanged;
    }

    /// <summary>The last membership change's remapped share, or null before the second membership.</summary>
    public RemapReport? LastRemap => Volatile.Read(ref _lastRemap);

    /// <summary>Whether spans carry the raw key; callers skip reading it otherwise.</summary>
    public bool IncludeRoutingKey => _options.IncludeRoutingKey;

    /// <summary>A timestamp for <see cref="RecordRequest"/>'s duration.</summary>
    public long GetTimestamp() => _time.GetTimestamp();

    /// <summary>
    /// Starts the proxy span for one forwarded request (child of the incoming request's span), or returns null when
    /// nobody samples it. <paramref name="routingKey"/> is recorded only with <see cref="IncludeRoutingKey"/>.
    /// </summary>
    public Activity? StartProxyActivity(ulong keyHash, string? routingKey = null)
    {
        var activity = _source.StartActivity(ProxyActivityName, ActivityKind.Internal);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(KeyHashAttribute, keyHash.ToString("x16", CultureInfo.InvariantCulture));
            if (_options.IncludeRoutingKey && routingKey is not null)
            {
                activity.SetTag(RoutingKeyAttribute, routingKey);
            }
        }

        return activity;
    }

    /// <summary>
    /// Starts the span of attempt <paramref name="attempt"/> (1-based) to <paramref name="member"/>, a child of the current
    /// activity (the proxy span). A retry (attempt ≥ 2) names its <paramref name="retryReason"/>; call it while the proxy
    /// span is <see cref="Activity.Current"/> and stop each attempt span before starting the next.
    /// </summary>
    public Activity? StartAttempt(Upstream member, int attempt, string? retryReason = null)
    {
        var activity = _source.StartActivity(AttemptActivityName, ActivityKind.Internal);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(MemberAttribute, member.Name);
            activity.SetTag(ServerAddressAttribute, member.Address.Host);
            activity.SetTag(ServerPortAttribute, member.Address.Port);
            activity.SetTag(AttemptAttribute, attempt);
            if (attempt > 1)
            {
                // Semantic conventions: the number of times the request was sent again (absent on the first send).
                activity.SetTag(ResendCountAttribute, attempt - 1);
                activity.SetTag(RetryReasonAttribute, retryReason);
            }
        }

        return activity;
    }

    /// <summary>Records how an attempt span ended and stops it.</summary>
    public static void StopAttempt(Activity? attempt, RequestOutcome outcome, int statusCode, ForwarderError error)
    {
        if (attempt is null)
        {
            return;
        }

        if (attempt.IsAllDataRequested)
        {
            if (statusCode > 0)
            {
                attempt.SetTag(StatusCodeAttribute, statusCode);
            }

            if (outcome != RequestOutcome.Success)
            {
                attempt.SetTag(ErrorTypeAttribute, error != ForwarderError.None ? ErrorName(error) : OutcomeNames[(int)outcome]);
                attempt.SetStatus(ActivityStatusCode.Error);
            }
        }

        attempt.Dispose();
    }

    /// <summary>Records the member that finally served (or last failed) and how many attempts were made, and stops the proxy span.</summary>
    public static void StopProxyActivity(Activity? proxy, Upstream? member, int attempts, RequestOutcome outcome)
    {
        if (proxy is null)
        {
            return;
        }

        if (proxy.IsAllDataRequested)
        {
            if (member is not null)
            {
                proxy.SetTag(MemberAttribute, member.Name);
                proxy.SetTag(ServerAddressAttribute, member.Address.Host);
                proxy.SetTag(ServerPortAttribute, member.Address.Port);
            }

            proxy.SetTag(AttemptAttribute, attempts);
            if (outcome != RequestOutcome.Success)
            {
                proxy.SetTag(ErrorTypeAttribute, OutcomeNames[(int)outcome]);
                proxy.SetStatus(ActivityStatusCode.Error);
            }
        }

        proxy.Dispose();
    }

    /// <summary>
    /// Counts one attempt to <paramref name="member"/> and records its duration since <paramref name="startTimestamp"/>
    /// (from <see cref="GetTimestamp"/>). With <see cref="RequestOutcome.NoServer"/>, pass a null member.
    /// </summary>
    public void RecordRequest(Upstream? member, RequestOutcome outcome, long startTimestamp)
    {
        var tags = new TagList { { OutcomeAttribute, OutcomeNames[(int)outcome] } };
        if (member is not null)
        {
            tags.Add(MemberAttribute, member.Name);
        }

        _requests.Add(1, tags);
        if (member is not null && _duration.Enabled)
        {
            _duration.Record(_time.GetElapsedTime(startTimestamp).TotalSeconds, tags);
        }
    }

    /// <summary>Counts a retry away from <paramref name="failedMember"/> for <paramref name="reason"/> (see <see cref="RetryReasons"/>).</summary>
    public void RecordRetry(string reason, Upstream? failedMember)
    {
        var tags = new TagList { { RetryReasonAttribute, reason } };
        if (failedMember is not null)
        {
            tags.Add(MemberAttribute, failedMember.Name);
        }

        _retries.Add(1, tags);
    }

    /// <summary>
    /// Counts a circuit breaker transition of <paramref name="member"/> into <paramref name="state"/>
    /// (<c>open</c>, <c>half_open</c>, <c>closed</c>, <c>isolated</c>: Polly's states in snake case).
    /// </summary>
    public void RecordBreakerTransition(Upstream member, string state)
    {
        _breakerTransitions.Add(1, new TagList { { MemberAttribute, member.Name }, { BreakerStateAttribute, state } });
        LogBreakerTransition(_logger, member.Name, state);
    }

    /// <summary>Counts Polly's circuit breaker of <paramref name="member"/> entering <paramref name="state"/>.</summary>
    /// <remarks>Call from the breaker's <c>OnOpened</c>, <c>OnHalfOpened</c> and <c>OnClosed</c> callbacks.</remarks>
    public void RecordBreakerTransition(Upstream member, CircuitState state) =>
        RecordBreakerTransition(member, state switch
        {
            CircuitState.Closed => "closed",
            CircuitState.Open => "open",
            CircuitState.HalfOpen => "half_open",
            CircuitState.Isolated => "isolated",
            _ => "unknown",
        });

    /// <summary>Maps how an attempt ended to its outcome.</summary>
    public static RequestOutcome Classify(ForwarderError error, int statusCode) =>
        error != ForwarderError.None ? RequestOutcome.Failure
        : statusCode >= 500 ? RequestOutcome.ServerError
        : RequestOutcome.Success;

    /// <summary>A retry reason (see <see cref="RetryReasons"/>) for an attempt that ended as given.</summary>
    public static string RetryReasonFor(ForwarderError error, int statusCode, Exception? exception) => error switch
    {
        ForwarderError.None when statusCode >= 500 => RetryReasons.ServerError,
        ForwarderError.RequestTimedOut => RetryReasons.Timeout,
        ForwarderError.Request when IsConnectFailure(exception) => RetryReasons.ConnectFailure,
        _ => RetryReasons.TransportError,
    };

    /// <inheritdoc />
    public void Dispose()
    {
        _ring.Changed -= OnRingChanged;
        _source.Dispose();
        _meter.Dispose();
    }

    private static bool IsConnectFailure(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            if (e is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError } or System.Net.Sockets.SocketException)
            {
                return true;
            }
        }

        return false;
    }

    private static string ErrorName(ForwarderError error) => error switch
    {
        ForwarderError.Request => "request",
        ForwarderError.RequestTimedOut => "timeout",
        ForwarderError.RequestCanceled => "canceled",
        _ => "forwarder_error",
    };

    private IEnumerable<Measurement<int>> ObserveMembers()
    {
        var members = _ring.Current?.Table.Members ?? [];
        var healthy = 0;
        foreach (var member in members)
        {
            if (member.IsAvailable)
            {
                healthy++;
            }
        }

        return
        [
            new Measurement<int>(healthy, new KeyValuePair<string, object?>(MemberStateAttribute, "healthy")),
            new Measurement<int>(members.Length - healthy, new KeyValuePair<string, object?>(MemberStateAttribute, "unavailable")),
        ];
    }

    private void OnRingChanged(RingSnapshot current, RingSnapshot? previous)
    {
        _ringChanges.Add(1);
        if (previous is null)
        {
            return;
        }

        try
        {
            var share = KeySpaceSampler.RemappedShare(previous, current, _options.RemapSampleKeys);
            Volatile.Write(ref _lastRemap, new RemapReport(previous.Version, current.Version, share, _time.GetUtcNow()));
            _keysRemapped.Record(share);
            LogKeysRemapped(_logger, previous.Version, current.Version, share * 100);
        }
        catch (Exception ex)
        {
            // Telemetry must never break a membership change.
            LogRemapFailed(_logger, ex);
        }
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Information, Message = "Ring v{From} → v{To}: {Percent:F1}% of keys remapped")]
    private static partial void LogKeysRemapped(ILogger logger, long from, long to, double percent);

    [LoggerMessage(EventId = 301, Level = LogLevel.Warning, Message = "Measuring the keys remapped by a membership change failed")]
    private static partial void LogRemapFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 302, Level = LogLevel.Information, Message = "Circuit breaker of {Member} is now {State}")]
    private static partial void LogBreakerTransition(ILogger logger, string member, string state);
}

/// <summary>The share of keys a membership change moved (ring versions <paramref name="From"/> → <paramref name="To"/>).</summary>
public sealed record RemapReport(long From, long To, double Share, DateTimeOffset At);
