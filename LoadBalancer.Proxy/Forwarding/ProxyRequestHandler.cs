using System.Net.Http;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Health;
using LoadBalancer.Proxy.Replies;
using LoadBalancer.Proxy.Routing;
using LoadBalancer.Proxy.Telemetry;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.ObjectPool;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Polly.Hedging;
using Yarp.ReverseProxy.Forwarder;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// Routes one request: hashes its key, picks the ring server that owns it and forwards it there with YARP's
/// <see cref="IHttpForwarder"/>, naming the server in <c>X-Upstream-Server</c>. A failed attempt is retried on the
/// next distinct available server on the ring for the same key, within the limits of <see cref="RetryOptions"/>.
/// </summary>
/// <remarks>
/// The file reads as the request path, top to bottom: <see cref="InvokeAsync"/> (the guard, the key, the table, the
/// first attempt, the retries, the response); one attempt (<see cref="AttemptAsync"/>: pick, reset, observe, send
/// through the server's circuit breaker; <see cref="ForwardAsync"/>: YARP's forward; <see cref="Classify"/> and
/// <see cref="Settle"/>: what came of it; <see cref="EndAttempt"/>); the one decision whether to send again
/// (<see cref="DecideRetry"/>, on <see cref="ForwardingRequest.ResendTarget"/>); the retries
/// (<see cref="RetryAsync"/>, through <see cref="RetryPipeline"/>); hedging (<see cref="SendHedgedAsync"/>); the
/// proxy's own answer (<see cref="CompleteAsync"/>). The per-request state is <see cref="ForwardingRequest"/>, beside
/// this file.
/// </remarks>
public sealed partial class ProxyRequestHandler
{
    /// <summary>The response header naming the server that answered.</summary>
    public const string ServerNameHeader = "X-Upstream-Server";

    // Picks for one admission before the server picked last takes the request anyway (see Admit).
    private const int MaxAdmissionPicks = 4;

    private static readonly byte[] NoServerBody = Reply.SerializeFailure("<Error> No server is available to serve the request");

    private readonly TableState _ring;
    private readonly RoutingKeyHasher _keys;
    private readonly IHttpForwarder _forwarder;
    private readonly HttpMessageInvoker _invoker;
    private readonly ForwarderRequestConfig _requestConfig;
    private readonly HttpTransformer _transformer;
    private readonly ServerCircuitBreakers _breakers;
    private readonly IForwardingAttemptObserver[] _observers;
    private readonly RetryOptions _retry;
    private readonly RetryBudget? _budget;
    private readonly string _retryAfter;
    private readonly ResiliencePipeline<AttemptResult> _retries;
    private readonly ResiliencePipeline<HttpResponseMessage> _hedging;
    private readonly bool _hedgingEnabled;
    private readonly TimeSpan _hedgeDelay;
    private readonly bool _hedgeDelayPerServer;
    private readonly ObjectPool<ForwardingRequest> _requests;
    private readonly ILogger<ProxyRequestHandler> _logger;
    private readonly ProxyTelemetry _telemetry;
    private readonly ForwardingGuard _guard;

    /// <summary>Creates the handler.</summary>
    public ProxyRequestHandler(
        TableState ring,
        RoutingKeyHasher keys,
        IHttpForwarder forwarder,
        ServerHttpClient client,
        ServerCircuitBreakers breakers,
        IOptions<RetryOptions> retry,
        IOptions<HedgingOptions> hedging,
        RetryBudget budget,
        TimeProvider time,
        ILogger<ProxyRequestHandler> logger,
        ProxyTelemetry telemetry,
        IEnumerable<IForwardingAttemptObserver> observers,
        ForwardingGuard guard)
    {
        _telemetry = telemetry;
        _guard = guard;
        _ring = ring;
        _keys = keys;
        _forwarder = forwarder;
        _invoker = client.Invoker;
        _requestConfig = client.RequestConfig;
        _transformer = client.Transformer;
        _breakers = breakers;
        _observers = observers.ToArray();
        _retry = retry.Value;
        _budget = budget.Enabled && _retry.MaxAttempts > 1 ? budget : null;
        _retryAfter = _retry.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _retries = RetryPipeline.Build(_retry, time, telemetry);
        // A delay the attempt timeout cuts short would only start a hedge as the attempt is given up.
        _hedgingEnabled = hedging.Value.Enabled && hedging.Value.Delay < _retry.AttemptTimeout;
        _hedgeDelay = hedging.Value.Delay;
        _hedgeDelayPerServer = _hedgingEnabled && hedging.Value.DelayPercentile > 0;
        _hedging = HedgingPipeline.Build(hedging.Value, time, CreateHedge);
        _requests = new DefaultObjectPool<ForwardingRequest>(
            new ForwardingRequest.Policy(time, _observers.Length, client.Connections), Environment.ProcessorCount * 64);
        _logger = logger;
    }

    /// <summary>Forwards <paramref name="context"/>'s request to its ring server, or the next ones if that fails.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        // Answered here, before any server is picked (no breaker, retry or attempt is involved): see ForwardingGuard.
        if (_guard.Refuse(context) is { } refused)
        {
            await refused.ConfigureAwait(false);
            return;
        }

        // The key: hashed with the current table's function. The request's span carries the routing decision; each
        // attempt is reported by ProxyTelemetry (AttemptAsync, EndAttempt).
        var snapshot = _ring.Current;
        ulong hash = 0;
        string? rawKey = null;
        if (snapshot is not null)
        {
            hash = _telemetry.IncludeRoutingKey ? _keys.Hash(context, snapshot.Hash, out rawKey) : _keys.Hash(context, snapshot.Hash);
        }

        // The table: the server that owns the key now.
        var span = _telemetry.BeginRequest(context, hash, rawKey);
        var first = snapshot is null ? -1 : snapshot.Table.Pick(hash, []);
        if (first < 0)
        {
            _telemetry.NoServer(span);
            // Nobody to ask: say so at once rather than letting the client wait for a timeout.
            await WriteNoServerAsync(context).ConfigureAwait(false);
            return;
        }

        var request = _requests.Get();
        _budget?.RequestStarted();
        var resilience = ResilienceContextPool.Shared.Get(context.RequestAborted);
        var result = new AttemptResult(AttemptKind.TransportFailed, 0, Retryable: false);
        try
        {
            var (hasBody, replayable) = PrepareBody(context);
            // An upgrade (WebSocket) is never hedged: a second handshake would open a second socket.
            var hedging = _hedgingEnabled && context.Features.Get<IHttpUpgradeFeature>() is not { IsUpgradableRequest: true };
            request.Initialize(this, context, snapshot!, hash, first, _retry, _budget, IsIdempotent(context.Request.Method), hasBody, replayable, hedging, _hedgeDelayPerServer);
            context.Features.Set(request);

            // The first attempt (outside the retry pipeline: see RetryPipeline), then the retries; a slow attempt may be
            // hedged inside ForwardAsync (SendHedgedAsync).
            result = Settle(request, await AttemptAsync(resilience, request).ConfigureAwait(false));
            if (result.Retryable)
            {
                result = await RetryAsync(resilience, request, result).ConfigureAwait(false);
            }

            if (request.RetryRefused)
            {
                _telemetry.RetryRefused(result);
                LogRetryRefused(_logger, request.Server!.Name, result.KindName, _budget!.Retrying, _budget.Active);
            }

            // The response: the server's, already relayed, or the proxy's own.
            await CompleteAsync(request, result).ConfigureAwait(false);
        }
        finally
        {
            ProxyTelemetry.CompleteRequest(span, request.Server, request.Attempts, result.KindName);
            _budget?.RequestEnded(request.HoldsRetrySlot);
            context.Features.Set<ForwardingRequest>(null);
            ResilienceContextPool.Shared.Return(resilience);
            _requests.Return(request);
        }
    }

    /// <summary>Decides whether the body can be replayed and, if so, buffers it as it is read.</summary>
    private (bool HasBody, bool Replayable) PrepareBody(HttpContext context)
    {
        var request = context.Request;
        var hasBody = context.Features.Get<IHttpRequestBodyDetectionFeature>()?.CanHaveBody ?? request.ContentLength > 0;
        if (!hasBody)
        {
            return (false, true);
        }

        if (_retry.MaxAttempts > 1 && request.ContentLength is long length && length <= _retry.MaxBufferedBodyBytes)
        {
            // In memory up to the limit (the threshold equals the limit): no temporary files.
            request.EnableBuffering(_retry.MaxBufferedBodyBytes, _retry.MaxBufferedBodyBytes);
            return (true, true);
        }

        return (true, false);
    }

    /// <summary>
    /// One attempt: the next eligible server for the key, admitted by the table (<see cref="Admit"/>), a clean response,
    /// then the forward through the server's circuit breaker. Returns the breaker's own task, with no async frame of ours
    /// around it; <see cref="Settle"/> turns its outcome into the attempt's result.
    /// </summary>
    private ValueTask<Outcome<AttemptResult>> AttemptAsync(ResilienceContext resilience, ForwardingRequest request)
    {
        // The first server was picked already, to tell "no server" at once; later attempts walk on from the tried ones.
        var table = request.Snapshot.Table;
        var index = request.Attempts == 0 ? request.FirstIndex : table.Pick(request.Hash, request.Tried);
        if (index < 0)
        {
            return new(Outcome.FromResult(AttemptResult.NoServer));
        }

        index = Admit(table, request.Hash, index, request.Tried);

        var context = request.HttpContext;
        if (request.Attempts > 0)
        {
            ResetForRetry(request);
        }

        var attempt = request.Begin(index);
        var server = request.Server!;
        context.Response.Headers[ServerNameHeader] = server.Name;
        request.TelemetryObservation = _telemetry.AttemptStarting(server, attempt);
        for (var i = 0; i < _observers.Length; i++)
        {
            request.Observations[i] = _observers[i].AttemptStarting(context, server, attempt);
        }

        return _breakers.For(server).ExecuteOutcomeAsync(
            static (_, state) => state.Handler.ForwardAsync(state),
            resilience,
            request);
    }

    /// <summary>
    /// Counts the request on server <paramref name="index"/>, the table's pick. A bounded-load table refuses a server
    /// whose last place another request took since the pick, and the next pick sees it full. After
    /// <see cref="MaxAdmissionPicks"/> picks (none has room: loads moved, or the tried servers hold the spare room; the
    /// table then falls back to the key's own server) the last one takes the request anyway, counted as over its bound:
    /// a request is never refused for want of room.
    /// </summary>
    private int Admit(BalancingTable table, ulong hash, int index, ReadOnlySpan<int> tried)
    {
        var admitted = PickAdmitted(table, hash, index, tried, out var overBound);
        if (overBound)
        {
            _telemetry.AdmittedOverBound(table.Servers[admitted]);
        }

        return admitted;
    }

    /// <summary>The admission itself: the server that took the request, and whether it was at its bound.</summary>
    internal static int PickAdmitted(BalancingTable table, ulong hash, int index, ReadOnlySpan<int> tried, out bool overBound)
    {
        overBound = false;
        for (var picks = 1; !table.TryBeginRequest(index); picks++)
        {
            // The same server again is tried again: a request of its own may have ended since the refusal.
            var next = picks < MaxAdmissionPicks ? table.Pick(hash, tried) : -1;
            if (next < 0)
            {
                table.Servers[index].BeginRequest();
                overBound = true;
                break;
            }

            index = next;
        }

        return index;
    }

    /// <summary>Undoes what the failed attempt left on the response (YARP's status, headers, error feature) and rewinds the body.</summary>
    private static void ResetForRetry(ForwardingRequest request)
    {
        var context = request.HttpContext;
        context.Response.Clear();
        context.Features.Set<IForwarderErrorFeature>(null);
        if (request.HasBody)
        {
            // Only a buffered body can be rewound; an unbuffered one is retried only when nothing was sent (never read).
            if (context.Request.Body.CanSeek)
            {
                context.Request.Body.Position = 0;
            }
        }
    }

    /// <summary>Sends the current attempt with YARP, classifies what happened while the context still tells, and ends the attempt.</summary>
    [AsyncMethodBuilder(typeof(PoolingAsyncValueTaskMethodBuilder<>))]
    private async ValueTask<Outcome<AttemptResult>> ForwardAsync(ForwardingRequest request)
    {
        // Stays a failure if the forwarder throws (it should not: YARP reports errors as values).
        var result = new AttemptResult(AttemptKind.TransportFailed, 0, Retryable: false);
        try
        {
            var error = await _forwarder.SendAsync(
                request.HttpContext,
                request.Server!.DestinationPrefix,
                request.Hedgeable ? request.Hedging.Invoker : _invoker,
                _requestConfig,
                _transformer,
                request.BeginForward()).ConfigureAwait(false);
            // An outpaced server failed in the eyes of its breaker (this execution is its breaker's); the client got the hedge's answer.
            result = Classify(request, error) with { Outpaced = request.HedgeWon };
        }
        finally
        {
            EndAttempt(request, result);
        }

        return Outcome.FromResult(result);
    }

    /// <summary>What the forward came to, read while the context still tells.</summary>
    private AttemptResult Classify(ForwardingRequest request, ForwarderError error)
    {
        var context = request.HttpContext;
        var status = context.Response.StatusCode;
        if (error == ForwarderError.None)
        {
            return Conclude(request, request.HeldBack || status >= 500 ? AttemptKind.ServerError : AttemptKind.Success, status);
        }

        var exception = context.Features.Get<IForwarderErrorFeature>()?.Exception;
        if (context.RequestAborted.IsCancellationRequested || error is ForwarderError.RequestBodyClient or ForwarderError.ResponseBodyClient)
        {
            return Conclude(request, AttemptKind.ClientFailed, 0, exception);
        }

        if (error == ForwarderError.Request && IsConnectionFailure(exception))
        {
            return Conclude(request, AttemptKind.ConnectionFailed, 0, exception);
        }

        // Our deadlines cancel the forward (YARP reports RequestCanceled); its own activity timeout is RequestTimedOut.
        var kind = error == ForwarderError.RequestTimedOut || request.TimedOut ? AttemptKind.Timeout : AttemptKind.TransportFailed;
        return Conclude(request, kind, 0, exception);
    }

    /// <summary>
    /// True when the server's end of the connection went (reset, or closed) before any byte of its response: what a
    /// server's death looks like, rather than its overload.
    /// </summary>
    internal static bool IsConnectionLost(Exception? exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            switch (current)
            {
                case HttpRequestException { HttpRequestError: HttpRequestError.ResponseEnded }:
                case HttpIOException { HttpRequestError: HttpRequestError.ResponseEnded }:
                case System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.ConnectionReset or System.Net.Sockets.SocketError.ConnectionAborted }:
                    return true;
            }
        }

        return false;
    }

    /// <summary>True when the connection could not be opened, so no byte of the request reached the server.</summary>
    internal static bool IsConnectionFailure(Exception? exception)
    {
        for (var current = exception; current is not null; current = current.InnerException)
        {
            if (current is HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError or HttpRequestError.NameResolutionError })
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The attempt's result from the breaker's outcome: a refusal ends the attempt here, as nothing was sent.</summary>
    private AttemptResult Settle(ForwardingRequest request, Outcome<AttemptResult> outcome)
    {
        switch (outcome.Exception)
        {
            case null:
                return outcome.Result;
            case BrokenCircuitException broken:
                // The breaker refused before anything was sent: any method may go elsewhere.
                var refused = Conclude(request, AttemptKind.BreakerOpen, 0, broken);
                EndAttempt(request, refused);
                return refused;
            case var exception:
                EndAttempt(request, new AttemptResult(AttemptKind.TransportFailed, 0, Retryable: false, exception));
                return Rethrow(exception);
        }
    }

    /// <summary>Ends the current attempt once: the server's in-flight count, the observer, the log.</summary>
    private void EndAttempt(ForwardingRequest request, in AttemptResult result)
    {
        if (!request.TryEndAttempt())
        {
            return;
        }

        var server = request.Server!;
        server.EndRequest(served: result.Kind is AttemptKind.Success or AttemptKind.ServerError);
        _telemetry.AttemptCompleted(server, request.Attempts, result, request.TelemetryObservation);
        for (var i = 0; i < _observers.Length; i++)
        {
            _observers[i].AttemptCompleted(request.HttpContext, server, request.Attempts, result, request.Observations[i]);
        }

        if (result.Kind is not (AttemptKind.Success or AttemptKind.ServerError) || request.HeldBack)
        {
            // The message only: a dead server under load fails many attempts before probes take it out.
            LogAttemptFailed(_logger, request.Attempts, server.Name, result.KindName, result.StatusCode, result.Retryable, RootCause(result.Exception)?.Message);
        }
    }

    /// <summary>
    /// An attempt's result, with whether it is retried: decided here, by kind, for every attempt (the transformer asks
    /// <see cref="DecideRetry"/> itself for a 5xx answer, as it must decide before YARP copies the answer).
    /// </summary>
    private AttemptResult Conclude(ForwardingRequest request, AttemptKind kind, int status, Exception? exception = null) =>
        new(kind, status, kind switch
        {
            // Nothing reached the server: any method may go elsewhere, and the retry adds no load.
            AttemptKind.ConnectionFailed or AttemptKind.BreakerOpen => DecideRetry(request, nothingSent: true),
            // The server dropped the connection before answering (it died, as a rule): the retry moves the dead
            // server's request rather than adding to a slow one's, so the budget, there for overload, does not apply.
            AttemptKind.TransportFailed when IsConnectionLost(exception) => DecideRetry(request, nothingSent: false, budgeted: false),
            AttemptKind.Timeout or AttemptKind.TransportFailed => DecideRetry(request, nothingSent: false),
            // Held back by the transformer, which decided already.
            AttemptKind.ServerError => request.HeldBack,
            _ => false,
        }, exception);

    /// <summary>
    /// Whether a failed attempt is retried: the one retry decision. First the pure question
    /// (<see cref="ForwardingRequest.ResendTarget"/>); then, for a retry that adds load (something reached the server,
    /// and it did not drop the connection unanswered), the explicit reservation of a slot in the retry budget, whose
    /// refusal is recorded for the log and the metric.
    /// </summary>
    internal static bool DecideRetry(ForwardingRequest request, bool nothingSent, bool budgeted = true)
    {
        if (request.ResendTarget(nothingSent) < 0)
        {
            return false;
        }

        if (nothingSent || !budgeted || request.TryReserveRetry())
        {
            return true;
        }

        request.RetryRefused = true;
        return false;
    }

    /// <summary>
    /// The retries of a request whose first attempt failed retryably, through <see cref="RetryPipeline"/> (whose first
    /// execution is the first retry: it is counted here, the rest by Polly). Each execution is one attempt, as above.
    /// </summary>
    private async Task<AttemptResult> RetryAsync(ResilienceContext resilience, ForwardingRequest request, AttemptResult first)
    {
        _telemetry.Retried(first);
        var outcome = await _retries.ExecuteOutcomeAsync(
            static async (resilienceContext, state) =>
                Outcome.FromResult(state.Handler.Settle(state, await state.Handler.AttemptAsync(resilienceContext, state).ConfigureAwait(false))),
            resilience,
            request).ConfigureAwait(false);
        return outcome.Exception is null ? outcome.Result : Rethrow(outcome.Exception);
    }

    /// <summary>
    /// YARP's send of a hedgeable attempt (through <see cref="HedgingInvoker"/>). The first send races the hedging
    /// delay (<see cref="HedgeRace"/>); if no response headers arrived by then, Polly's hedging takes the send over and
    /// sends the same request to the key's next server too (<see cref="CreateHedge"/>): the first answer goes back to
    /// YARP, the other send is cancelled.
    /// </summary>
    internal async Task<HttpResponseMessage> SendHedgedAsync(ForwardingRequest request, HttpRequestMessage message, CancellationToken cancellationToken)
    {
        var race = request.Race;
        var send = race.Start(request.Hedging, message, cancellationToken);
        try
        {
            // The hedge is decided before Polly's hedging starts: given no hedge to send, it would ask again at once, in
            // a loop that never yields (a zero delay), and hold a thread until the first send ended.
            // The delay: the configured one, or the server's own from its answer times (HedgingOptions.DelayPercentile).
            var server = request.Server!;
            var delay = _hedgeDelayPerServer && server.AnswerTimes.HedgeDelay is { Ticks: > 0 } own ? own : _hedgeDelay;
            if (send.IsCompleted
                || await race.SendWithinAsync(delay, server.LeftRouting).ConfigureAwait(false)
                || !TryPrepareHedge(request))
            {
                return await send.ConfigureAwait(false);
            }

            var resilience = ResilienceContextPool.Shared.Get(cancellationToken);
            resilience.Properties.Set(HedgingPipeline.RequestKey, request);
            try
            {
                var outcome = await _hedging.ExecuteOutcomeAsync(
                    static (context, race) => AwaitFirstSendAsync(race, context.CancellationToken), resilience, race).ConfigureAwait(false);
                EndHedge(request, outcome, hung: delay >= _hedgeDelay);
                return outcome.Exception is null ? outcome.Result! : RethrowResponse(outcome.Exception);
            }
            finally
            {
                ResilienceContextPool.Shared.Return(resilience);
            }
        }
        finally
        {
            race.End();
        }
    }

    /// <summary>Polly's primary execution: the first send, already under way; Polly cancels it when the hedge wins.</summary>
    private static async ValueTask<Outcome<HttpResponseMessage>> AwaitFirstSendAsync(HedgeRace race, CancellationToken cancellationToken)
    {
        using var cancel = cancellationToken.UnsafeRegister(static state => ((HedgeRace)state!).CancelSend(), race);
        try
        {
            return Outcome.FromResult(await race.Send!.ConfigureAwait(false));
        }
        catch (Exception exception)
        {
            return Outcome.FromException<HttpResponseMessage>(exception);
        }
    }

    /// <summary>
    /// The delay passed, or the server left routing: prepares the hedge, the same request to the key's next eligible
    /// server, if attempts are left and the retry budget has room (a hedge adds load like a retry); false sends none.
    /// </summary>
    private bool TryPrepareHedge(ForwardingRequest request)
    {
        // The same question as for a retry (something reaches the server; no second hedge of one attempt), then the budget.
        var index = request.HedgeServer is null ? request.ResendTarget(nothingSent: false) : -1;
        if (index < 0)
        {
            return false;
        }

        // A server out of routing gets no new requests, so hedging its requests moves its share of the load rather than
        // adding to it: a failover, outside the budget (which would otherwise leave most of them waiting on a hung server).
        var slow = request.Server!;
        if (slow.IsAvailable && !request.TryReserveRetry())
        {
            _telemetry.HedgeRefused(slow);
            return false;
        }

        index = Admit(request.Snapshot.Table, request.Hash, index, request.Tried);
        var server = request.Snapshot.Table.Servers[index];
        request.BeginHedge(index, CopyFor(request.Race.Message!, slow, server));
        LogHedging(_logger, slow.Name, server.Name);
        return true;
    }

    /// <summary>Polly asks for the hedge <see cref="TryPrepareHedge"/> prepared: its send, on Polly's token.</summary>
    private static Func<ValueTask<Outcome<HttpResponseMessage>>>? CreateHedge(HedgingActionGeneratorArguments<HttpResponseMessage> args)
    {
        if (!args.PrimaryContext.Properties.TryGetValue(HedgingPipeline.RequestKey, out var request) || request.HedgeMessage is not { } message)
        {
            return null;
        }

        var hedging = request.Hedging;
        var cancellationToken = args.ActionContext.CancellationToken;
        return () => SendAsync(hedging, message, cancellationToken);
    }

    /// <summary>
    /// After the race: the loser's in-flight count ends, and if the hedge won the attempt is its server's. A hedge that
    /// outpaced a first send <paramref name="hung"/> for the whole configured delay counts towards taking the server
    /// out (<see cref="ServerCircuitBreakers.Outpaced"/>); one sent earlier, at the server's own percentile, does not:
    /// a pause of a few tens of milliseconds is no reason to take a server out.
    /// </summary>
    private void EndHedge(ForwardingRequest request, in Outcome<HttpResponseMessage> outcome, bool hung)
    {
        if (request.HedgeServer is not { } hedge)
        {
            return;
        }

        var slow = request.Server!;
        var won = outcome.Result is { } response && ReferenceEquals(response.RequestMessage, request.HedgeMessage);
        if (won)
        {
            slow.EndRequest(served: false);
            if (hung)
            {
                _breakers.Outpaced(slow);
            }

            request.HedgeAnsweredFirst();
            request.HttpContext.Response.Headers[ServerNameHeader] = hedge.Name;
        }
        else
        {
            hedge.EndRequest(served: false);
        }

        _telemetry.Hedged(request.HttpContext, slow, hedge, won);
    }

    private static async ValueTask<Outcome<HttpResponseMessage>> SendAsync(HedgingInvoker invoker, HttpRequestMessage message, CancellationToken cancellationToken)
    {
        try
        {
            return Outcome.FromResult(await invoker.SendDirectAsync(message, cancellationToken).ConfigureAwait(false));
        }
        catch (Exception exception)
        {
            return Outcome.FromException<HttpResponseMessage>(exception);
        }
    }

    /// <summary>The hedge's request: the attempt's method, version, target and headers (as YARP made them), to another server.</summary>
    private static HttpRequestMessage CopyFor(HttpRequestMessage sent, BackendServer from, BackendServer to)
    {
        var uri = sent.RequestUri!;
        var target = uri.OriginalString.StartsWith(from.DestinationPrefix, StringComparison.Ordinal)
            ? string.Concat(to.DestinationPrefix, uri.OriginalString.AsSpan(from.DestinationPrefix.Length))
            : to.DestinationPrefix + uri.PathAndQuery;
        var copy = new HttpRequestMessage(sent.Method, new Uri(target, new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true }))
        {
            Version = sent.Version,
            VersionPolicy = sent.VersionPolicy,
        };

        // The non-validated view reads the headers as stored, without parsing them into the collection (the first
        // send may still be reading them); Host stays the destination's, as for the first send.
        foreach (var header in sent.Headers.NonValidated)
        {
            if (!string.Equals(header.Key, "Host", StringComparison.OrdinalIgnoreCase))
            {
                copy.Headers.TryAddWithoutValidation(header.Key, header.Value);
            }
        }

        return copy;
    }

    /// <summary>Writes the proxy's own answer when the last attempt left nothing for the client.</summary>
    private async Task CompleteAsync(ForwardingRequest request, AttemptResult result)
    {
        var context = request.HttpContext;
        if (context.Response.HasStarted || context.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        var server = request.Server?.Name ?? "?";
        switch (result.Kind)
        {
            case AttemptKind.Success:
            case AttemptKind.ServerError when !request.HeldBack:
                return;
            case AttemptKind.ClientFailed:
                // The client is still there, so its request was at fault (a chunked body over Kestrel's limit, a
                // malformed chunk): a fixed message says what was wrong, never the exception's text.
                var (status, body) = RequestBodyErrors.Describe(context, result.Exception);
                await WriteFailureAsync(context, status, body).ConfigureAwait(false);
                return;
            case AttemptKind.NoServer:
            case AttemptKind.ConnectionFailed:
            case AttemptKind.BreakerOpen:
                // Nothing reached any server: as good as no server at all.
                LogGaveUp(_logger, request.Attempts, server, result.KindName);
                await WriteNoServerAsync(context).ConfigureAwait(false);
                return;
            case AttemptKind.ServerError:
                LogGaveUp(_logger, request.Attempts, server, result.KindName);
                await WriteFailureAsync(context, result.StatusCode, $"<Error> Server {server} answered {result.StatusCode}").ConfigureAwait(false);
                return;
            case AttemptKind.Timeout when request.DeadlinePassed:
                LogGaveUp(_logger, request.Attempts, server, "deadline");
                await WriteFailureAsync(context, StatusCodes.Status504GatewayTimeout, $"<Error> No server answered within {_retry.TotalTimeout.TotalSeconds:0.###} s").ConfigureAwait(false);
                return;
            case AttemptKind.Timeout:
                LogGaveUp(_logger, request.Attempts, server, result.KindName);
                await WriteFailureAsync(context, StatusCodes.Status504GatewayTimeout, $"<Error> Server {server} did not answer in time").ConfigureAwait(false);
                return;
            default:
                LogGaveUp(_logger, request.Attempts, server, result.KindName);
                await WriteFailureAsync(context, StatusCodes.Status502BadGateway, $"<Error> Server {server} failed while serving the request").ConfigureAwait(false);
                return;
        }
    }

    /// <summary>The exception that says what happened: YARP may wrap the body's failure in an aggregate with others.</summary>
    private static Exception? RootCause(Exception? exception)
    {
        var root = exception?.GetBaseException();
        return root is AggregateException aggregate && aggregate.Flatten().InnerExceptions is [var first, ..] ? first.GetBaseException() : root;
    }

    private static Task WriteFailureAsync(HttpContext context, int statusCode, string message) =>
        WriteFailureAsync(context, statusCode, Reply.SerializeFailure(message));

    private static Task WriteFailureAsync(HttpContext context, int statusCode, byte[] json)
    {
        var upstream = context.Response.Headers[ServerNameHeader];
        context.Response.Clear();
        context.Response.Headers[ServerNameHeader] = upstream;
        return Reply.WriteAsync(context, statusCode, json);
    }

    private Task WriteNoServerAsync(HttpContext context)
    {
        context.Response.Clear();
        context.Response.Headers.RetryAfter = _retryAfter;
        return Reply.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, NoServerBody);
    }

    private static bool IsIdempotent(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsPut(method) || HttpMethods.IsDelete(method);

    private static AttemptResult Rethrow(Exception exception)
    {
        ExceptionDispatchInfo.Throw(exception);
        return default;
    }

    private static HttpResponseMessage RethrowResponse(Exception exception)
    {
        ExceptionDispatchInfo.Throw(exception);
        return null!;
    }

    [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "Forwarding failed after {Attempts} attempts, last to {Server}: {Reason}")]
    private static partial void LogGaveUp(ILogger logger, int attempts, string server, string reason);

    [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "Not retried: the retry budget is spent ({Retrying} of {Active} requests in flight are retrying); {Server} failed with {Kind}")]
    private static partial void LogRetryRefused(ILogger logger, string server, string kind, int retrying, int active);

    [LoggerMessage(EventId = 230, Level = LogLevel.Debug, Message = "Hedging: {Server} sent no response headers in time; the request goes to {Hedge} too")]
    private static partial void LogHedging(ILogger logger, string server, string hedge);

    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "Attempt {Attempt} to {Server} failed: {Kind} {StatusCode}; retryable: {Retryable}; {Error}")]
    private static partial void LogAttemptFailed(ILogger logger, int attempt, string server, string kind, int statusCode, bool retryable, string? error);
}
