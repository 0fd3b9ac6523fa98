using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Forwarding;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Telemetry;

/// <summary>
/// The proxy's traces and metrics: one <see cref="ActivitySource"/> and one <see cref="Meter"/>, both named
/// <see cref="ProxyApplication.TelemetryName"/>.
/// </summary>
/// <remarks>
/// <para>A forwarded request is traced on ASP.NET Core's span of the incoming request, which carries the routing decision
/// (<see cref="BeginRequest"/>, <see cref="CompleteRequest"/>); a retry, and a first attempt that failed, get an attempt
/// span each (<see cref="StartAttempt"/>). YARP's HttpClient span and the server's span nest below, so one request is
/// one trace client → proxy → server.</para>
/// <para>Everything here may run per request: when nobody listens, activities are null and instruments are disabled, and
/// no method allocates beyond what a listening exporter needs (tags travel in a stack-allocated <see cref="TagList"/>).</para>
/// <para>Keys remapped by a membership change are measured from <see cref="TableState.Changed"/>, on the thread that
/// publishes the new ring, never on the request path.</para>
/// </remarks>
public sealed partial class ProxyTelemetry : IDisposable
{
    /// <summary>Span attribute: the routing key's hash in hex (never the raw key unless configured).</summary>
    public const string KeyHashAttribute = "loadbalancer.key.hash";

    /// <summary>Span attribute: the raw routing key, only with <see cref="TelemetryOptions.IncludeRoutingKey"/>.</summary>
    public const string RoutingKeyAttribute = "loadbalancer.routing_key";

    /// <summary>Span and metric attribute: the ring server's name (<c>server2</c>).</summary>
    public const string ServerAttribute = "loadbalancer.server.name";

    /// <summary>Span attribute: the 1-based number of this attempt (the request's span: how many attempts were made).</summary>
    public const string AttemptAttribute = "loadbalancer.attempt";

    /// <summary>Span attribute: why an attempt is a retry (the previous attempt's outcome).</summary>
    public const string RetryReasonAttribute = "loadbalancer.retry.reason";

    /// <summary>Metric and span attribute: how an attempt (on the request's span: the last one) ended (<see cref="AttemptResult.KindName"/>).</summary>
    public const string OutcomeAttribute = "loadbalancer.outcome";

    /// <summary>Metric attribute: whether a server may take requests (<c>healthy</c>/<c>unavailable</c>).</summary>
    public const string ServerStateAttribute = "loadbalancer.server.state";

    /// <summary>Span attribute (on the request's span): the server a slow attempt was hedged to.</summary>
    public const string HedgeAttribute = "loadbalancer.hedge.server";

    /// <summary>Metric and span attribute: whether a hedge answered first (<c>won</c>), second (<c>lost</c>) or was not sent (<c>refused</c>: the retry budget was spent).</summary>
    public const string HedgeOutcomeAttribute = "loadbalancer.hedge.outcome";

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

    private const string SuccessOutcome = "success";
    private const string NoServerOutcome = "no_server";

    // Custom property of the request's span holding the last failed attempt's outcome: the next attempt's retry reason.
    private const string LastFailureProperty = "loadbalancer.last_failure";

    private readonly ActivitySource _source;
    private readonly Meter _meter;
    private readonly Counter<long> _requests;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _ringChanges;
    private readonly Counter<long> _hedges;
    private readonly Counter<long> _retries;
    private readonly Counter<long> _retriesRefused;
    private readonly Counter<long> _overBound;
    private readonly Gauge<double> _keysRemapped;
    private readonly TableState _ring;
    private readonly TelemetryOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ProxyTelemetry> _logger;
    private readonly Lock _remapGate = new();
    private RemapReport? _lastRemap;
    // The change not yet measured (from the earliest table not measured against to the latest), and whether a worker
    // is measuring: under _remapGate.
    private TableSnapshot? _unmeasuredFrom;
    private TableSnapshot? _unmeasuredTo;
    private bool _measuring;

    /// <summary>Creates the source and instruments and starts following ring changes.</summary>
    public ProxyTelemetry(
        IMeterFactory meterFactory,
        TableState ring,
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
            "loadbalancer.server.requests", "{request}",
            "Attempts forwarded to ring servers, by server and outcome (AttemptResult.KindName; no_server: none was available).");
        _duration = _meter.CreateHistogram(
            "loadbalancer.server.duration", "s",
            "Time from sending an attempt to a server until its response was relayed or the attempt failed.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        _hedges = _meter.CreateCounter<long>(
            "loadbalancer.hedges", "{hedge}",
            "Slow attempts hedged to the key's next server, by the slow server and whether the hedge won, lost or was refused by the retry budget.");
        _retries = _meter.CreateCounter<long>(
            "loadbalancer.retries", "{attempt}", "Attempts sent to another server after a failed one.");
        _retriesRefused = _meter.CreateCounter<long>(
            "loadbalancer.retries.refused", "{request}", "Failed attempts not retried because the retry budget was spent.");
        _overBound = _meter.CreateCounter<long>(
            "loadbalancer.bounded_load.over_bound", "{request}",
            "Requests a bounded-load table sent to a server at its bound, because no server had room when they were admitted.");
        _ringChanges = _meter.CreateCounter<long>(
            "loadbalancer.ring.changes", "{change}", "Ring membership changes (a new table was published).");
        _keysRemapped = _meter.CreateGauge<double>(
            "loadbalancer.ring.keys_remapped", "1", "Share of the key space that moved to another server at the last membership change.");
        _meter.CreateObservableUpDownCounter(
            "loadbalancer.ring.servers", ObserveServers, "{server}", "Ring servers by state: healthy or unavailable (sum: total).");

        _ring.Changed += OnRingChanged;
    }

    /// <summary>
    /// The last measured membership change's remapped share, or null before the second membership. Measured just after
    /// the change, off its path: a burst of changes is measured as one, from its first table to its last.
    /// </summary>
    public RemapReport? LastRemap => Volatile.Read(ref _lastRemap);

    /// <summary>Whether spans carry the raw key; callers skip reading it otherwise.</summary>
    public bool IncludeRoutingKey => _options.IncludeRoutingKey;

    /// <summary>
    /// Returns ASP.NET Core's span of the incoming request, tagged with the routing key's hash, or null when nobody
    /// records it. <paramref name="routingKey"/> is recorded only with <see cref="IncludeRoutingKey"/>. The routing
    /// decision goes on that span rather than a span of its own: one span fewer per request, the same information.
    /// </summary>
    public Activity? BeginRequest(HttpContext context, ulong keyHash, string? routingKey = null)
    {
        var activity = context.Features.Get<IHttpActivityFeature>()?.Activity;
        if (activity is not { IsAllDataRequested: true })
        {
            return null;
        }

        activity.AddTag(KeyHashAttribute, keyHash.ToString("x16", CultureInfo.InvariantCulture));
        if (_options.IncludeRoutingKey && routingKey is not null)
        {
            activity.AddTag(RoutingKeyAttribute, routingKey);
        }

        return activity;
    }

    /// <summary>
    /// Records on the request's span the server that finally served (or last failed), how many attempts were made and
    /// what the last one came to (<see cref="AttemptResult.KindName"/>); an outcome other than success is an error.
    /// </summary>
    public static void CompleteRequest(Activity? request, BackendServer? server, int attempts, string outcome)
    {
        if (request is null)
        {
            return;
        }

        // New keys on this span, so AddTag (no search through ASP.NET Core's tags). Where the server listens is on the
        // HttpClient span below; the request's span names the server only.
        if (server is not null)
        {
            request.AddTag(ServerAttribute, server.Name);
        }

        request.AddTag(AttemptAttribute, Boxed(attempts));
        request.AddTag(OutcomeAttribute, outcome);
        if (outcome != SuccessOutcome)
        {
            request.SetStatus(ActivityStatusCode.Error);
        }
    }

    /// <summary>
    /// Counts a hedge of an attempt to <paramref name="slow"/> and records on the request's span where it went and
    /// whether it answered first. The hedge's own HttpClient span sits beside the first send's in the trace.
    /// </summary>
    public void Hedged(HttpContext context, BackendServer slow, BackendServer hedge, bool won)
    {
        var outcome = won ? "won" : "lost";
        _hedges.Add(1, new TagList { { ServerAttribute, slow.Name }, { HedgeOutcomeAttribute, outcome } });
        if (context.Features.Get<IHttpActivityFeature>()?.Activity is { IsAllDataRequested: true } span)
        {
            span.AddTag(HedgeAttribute, hedge.Name);
            span.AddTag(HedgeOutcomeAttribute, outcome);
        }
    }

    /// <summary>Counts a hedge of an attempt to <paramref name="slow"/> that the retry budget refused.</summary>
    public void HedgeRefused(BackendServer slow) =>
        _hedges.Add(1, new TagList { { ServerAttribute, slow.Name }, { HedgeOutcomeAttribute, "refused" } });

    /// <summary>Counts a request admitted to a server at its bound (see <c>ProxyRequestHandler.Admit</c>).</summary>
    public void AdmittedOverBound(BackendServer server) =>
        _overBound.Add(1, new TagList { { ServerAttribute, server.Name } });

    /// <summary>Counts one retried attempt and why the previous one failed.</summary>
    public void Retried(in AttemptResult failed) =>
        _retries.Add(1, new KeyValuePair<string, object?>(RetryReasonAttribute, failed.KindName));

    /// <summary>Counts a failed attempt the retry budget kept from being retried.</summary>
    public void RetryRefused(in AttemptResult failed) =>
        _retriesRefused.Add(1, new KeyValuePair<string, object?>(RetryReasonAttribute, failed.KindName));

    /// <summary>Counts a request no server could take and records it on the request's span.</summary>
    public void NoServer(Activity? request)
    {
        _requests.Add(1, new KeyValuePair<string, object?>(OutcomeAttribute, NoServerOutcome));
        CompleteRequest(request, null, 0, NoServerOutcome);
    }

    /// <summary>
    /// An attempt to <paramref name="server"/> is about to be sent (<paramref name="attempt"/> counts from 1); the
    /// returned value goes back to <see cref="AttemptCompleted"/>. Called by <see cref="ProxyRequestHandler"/> for every
    /// attempt, retries included, before any <see cref="IForwardingAttemptObserver"/>.
    /// </summary>
    /// <remarks>
    /// A retry gets its own live span (a child of the request's span) carrying the reason, the previous attempt's outcome.
    /// The first attempt gets none while it runs: most requests need one attempt, the request's span already names its
    /// server, and YARP's HttpClient span sits right below. Should it fail, its span is recorded afterwards with its
    /// real start time (<see cref="AttemptCompleted"/>), so a trace still shows every failed attempt.
    /// </remarks>
    public AttemptObservation AttemptStarting(BackendServer server, int attempt) =>
        new(attempt > 1 ? StartAttempt(server, attempt, startTime: default) : null, _time.GetTimestamp());

    /// <summary>The attempt ended with <paramref name="result"/>: its span, its count and its duration.</summary>
    public void AttemptCompleted(BackendServer server, int attempt, in AttemptResult result, in AttemptObservation observation)
    {
        var elapsed = _time.GetElapsedTime(observation.StartedAt);
        var span = observation.State as Activity;
        if (span is null && result.Kind != AttemptKind.Success && Activity.Current is { IsAllDataRequested: true })
        {
            // The first attempt failed: record its span now, from when it started.
            span = StartAttempt(server, attempt, _time.GetUtcNow() - elapsed);
        }

        if (span is not null)
        {
            StopAttempt(span, result);
        }

        var tags = new TagList { { ServerAttribute, server.Name }, { OutcomeAttribute, result.KindName } };
        _requests.Add(1, tags);
        if (result.Kind != AttemptKind.BreakerOpen)
        {
            // A refused attempt sent nothing: it has no duration to speak of.
            _duration.Record(elapsed.TotalSeconds, tags);
        }
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _ring.Changed -= OnRingChanged;
        _source.Dispose();
        _meter.Dispose();
    }

    private Activity? StartAttempt(BackendServer server, int attempt, DateTimeOffset startTime)
    {
        var proxy = Activity.Current;
        var activity = _source.StartActivity(AttemptActivityName, ActivityKind.Internal, parentContext: default, startTime: startTime);
        if (activity is { IsAllDataRequested: true })
        {
            activity.SetTag(ServerAttribute, server.Name);
            activity.SetTag(ServerAddressAttribute, server.Address.Host);
            activity.SetTag(ServerPortAttribute, server.Port);
            activity.SetTag(AttemptAttribute, Boxed(attempt));
            if (attempt > 1)
            {
                // Semantic conventions: the number of times the request was sent again (absent on the first send).
                activity.SetTag(ResendCountAttribute, Boxed(attempt - 1));
                activity.SetTag(RetryReasonAttribute, proxy?.GetCustomProperty(LastFailureProperty) as string);
            }
        }

        return activity;
    }

    private static void StopAttempt(Activity span, in AttemptResult result)
    {
        if (span.IsAllDataRequested)
        {
            if (result.StatusCode > 0)
            {
                span.SetTag(StatusCodeAttribute, Boxed(result.StatusCode));
            }

            if (result.Kind != AttemptKind.Success)
            {
                span.SetTag(ErrorTypeAttribute, result.KindName);
                span.SetStatus(ActivityStatusCode.Error);
                // The next attempt's retry reason, kept on the request's span, which outlives the attempts.
                span.Parent?.SetCustomProperty(LastFailureProperty, result.KindName);
            }
        }

        span.Dispose();
    }

    /// <summary>
    /// Attempt counts, status codes and ports as tag values without a new box each time: the common ones come from a
    /// table filled once (immutable after start-up).
    /// </summary>
    private static object Boxed(int value) => (uint)value < (uint)SmallBoxes.Length ? SmallBoxes[value] : value;

    private static readonly object[] SmallBoxes = CreateSmallBoxes();

    private static object[] CreateSmallBoxes()
    {
        // 0..599 covers attempt counts and every status code.
        var boxes = new object[600];
        for (var i = 0; i < boxes.Length; i++)
        {
            boxes[i] = i;
        }

        return boxes;
    }

    private IEnumerable<Measurement<int>> ObserveServers()
    {
        var servers = _ring.Current?.Table.Servers ?? [];
        var healthy = 0;
        foreach (var server in servers)
        {
            if (server.IsAvailable)
            {
                healthy++;
            }
        }

        return
        [
            new Measurement<int>(healthy, new KeyValuePair<string, object?>(ServerStateAttribute, "healthy")),
            new Measurement<int>(servers.Length - healthy, new KeyValuePair<string, object?>(ServerStateAttribute, "unavailable")),
        ];
    }

    private void OnRingChanged(TableSnapshot current, TableSnapshot? previous)
    {
        _ringChanges.Add(1);
        if (previous is null)
        {
            return;
        }

        // Measured off the change's own path (an admin call holds the membership lock while it publishes): changes
        // that come faster than they are measured are measured together, from the first one's table to the last.
        lock (_remapGate)
        {
            _unmeasuredFrom ??= previous;
            _unmeasuredTo = current;
            if (_measuring)
            {
                return;
            }

            _measuring = true;
        }

        ThreadPool.UnsafeQueueUserWorkItem(static telemetry => telemetry.MeasureRemaps(), this, preferLocal: false);
    }

    private void MeasureRemaps()
    {
        while (true)
        {
            TableSnapshot previous, current;
            lock (_remapGate)
            {
                if (_unmeasuredTo is null)
                {
                    _measuring = false;
                    return;
                }

                (previous, current) = (_unmeasuredFrom!, _unmeasuredTo);
                (_unmeasuredFrom, _unmeasuredTo) = (null, null);
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
    }

    [LoggerMessage(EventId = 600, Level = LogLevel.Information, Message = "Ring v{From} → v{To}: {Percent:F1}% of keys remapped")]
    private static partial void LogKeysRemapped(ILogger logger, long from, long to, double percent);

    [LoggerMessage(EventId = 601, Level = LogLevel.Warning, Message = "Measuring the keys remapped by a membership change failed")]
    private static partial void LogRemapFailed(ILogger logger, Exception exception);

}
