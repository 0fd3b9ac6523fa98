using System.Net.Http;
using System.Runtime.CompilerServices;
using System.Runtime.ExceptionServices;
using LoadBalancer.Proxy.Health;
using LoadBalancer.Proxy.Membership;
using LoadBalancer.Proxy.Replies;
using LoadBalancer.Proxy.Telemetry;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.ObjectPool;
using Microsoft.Extensions.Options;
using Polly;
using Polly.CircuitBreaker;
using Yarp.ReverseProxy.Forwarder;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// Routes one request: hashes its key, picks the ring member that owns it and forwards it there with YARP's
/// <see cref="IHttpForwarder"/>, naming the member in <c>X-Upstream-Server</c>. A failed attempt is retried on the
/// next distinct available member on the ring for the same key, within the limits of <see cref="RetryOptions"/>.
/// </summary>
/// <remarks>
/// Every attempt runs through <see cref="AttemptAsync"/> (pick, reset, observe, send through the member's circuit
/// breaker), <see cref="ForwardAsync"/> (YARP's forward, classify, end the attempt) and <see cref="Settle"/> (the
/// breaker's refusal): the one place per-attempt behaviour lives. The first attempt runs outside Polly's retry
/// pipeline; a retryable failure enters it (see <see cref="ForwardingPipeline"/>).
/// </remarks>
public sealed partial class ProxyRequestHandler
{
    /// <summary>The response header naming the member that answered.</summary>
    public const string UpstreamHeader = "X-Upstream-Server";

    private static readonly byte[] NoServerBody = Replies.Replies.SerializeFailure("<Error> No server is available to serve the request");

    private readonly RingState _ring;
    private readonly RoutingKeyHasher _keys;
    private readonly IHttpForwarder _forwarder;
    private readonly HttpMessageInvoker _invoker;
    private readonly ForwarderRequestConfig _requestConfig;
    private readonly HttpTransformer _transformer;
    private readonly UpstreamCircuitBreakers _breakers;
    private readonly IForwardingAttemptObserver[] _observers;
    private readonly RetryOptions _retry;
    private readonly RetryBudget? _budget;
    private readonly HealthMetrics _metrics;
    private readonly string _retryAfter;
    private readonly ResiliencePipeline<AttemptResult> _pipeline;
    private readonly ObjectPool<ForwardingRequest> _requests;
    private readonly ILogger<ProxyRequestHandler> _logger;
    private readonly ProxyTelemetry _telemetry;
    private readonly ForwardingGuard _guard;

    /// <summary>Creates the handler.</summary>
    public ProxyRequestHandler(
        RingState ring,
        RoutingKeyHasher keys,
        IHttpForwarder forwarder,
        UpstreamHttpClient client,
        UpstreamCircuitBreakers breakers,
        HealthMetrics metrics,
        IOptions<RetryOptions> retry,
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
        _metrics = metrics;
        _retryAfter = _retry.RetryAfterSeconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
        _pipeline = ForwardingPipeline.Build(_retry, time, metrics);
        _requests = new DefaultObjectPool<ForwardingRequest>(new ForwardingRequest.Policy(time, _observers.Length), Environment.ProcessorCount * 64);
        _logger = logger;
    }

    /// <summary>Forwards <paramref name="context"/>'s request to its ring member, or the next ones if that fails.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        // A loop or an OPTIONS * is answered here: no member is asked, no breaker or retry is involved.
        if (_guard.Refuse(context) is { } refused)
        {
            await refused.ConfigureAwait(false);
            return;
        }

        var snapshot = _ring.Current;
        ulong hash = 0;
        // The request's span carries the routing decision; each attempt is reported by the observer.
        string? rawKey = null;
        if (snapshot is not null)
        {
            hash = _telemetry.IncludeRoutingKey ? _keys.Hash(context, snapshot.Hash, out rawKey) : _keys.Hash(context, snapshot.Hash);
        }

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
            request.Initialize(this, context, snapshot!, hash, first, _retry, _budget, IsIdempotent(context.Request.Method), hasBody, replayable);
            context.Features.Set(request);

            result = Settle(request, await AttemptAsync(resilience, request).ConfigureAwait(false));
            if (result.Retryable)
            {
                request.ReplayIntoRetry(result);
                var outcome = await _pipeline.ExecuteOutcomeAsync(
                    static async (resilienceContext, state) => Outcome.FromResult(state.TryTakeReplay(out var replayed)
                        ? replayed
                        : state.Handler.Settle(state, await state.Handler.AttemptAsync(resilienceContext, state).ConfigureAwait(false))),
                    resilience,
                    request).ConfigureAwait(false);
                result = outcome.Exception is null ? outcome.Result : Rethrow(outcome.Exception);
            }

            if (request.RetryRefused)
            {
                _metrics.RetryRefused(result);
                LogRetryRefused(_logger, request.Member!.Name, result.KindName, _budget!.Retrying, _budget.Active);
            }

            await CompleteAsync(request, result).ConfigureAwait(false);
        }
        finally
        {
            ProxyTelemetry.CompleteRequest(span, request.Member, request.Attempts, result.KindName);
            _budget?.RequestEnded(request.HoldsRetrySlot);
            context.Features.Set<ForwardingRequest>(null);
            ResilienceContextPool.Shared.Return(resilience);
            _requests.Return(request);
        }
    }

    /// <summary>
    /// One attempt: the next eligible member for the key, a clean response, then the forward through the member's
    /// circuit breaker. Returns the breaker's own task, with no async frame of ours around it; <see cref="Settle"/>
    /// turns its outcome into the attempt's result.
    /// </summary>
    private ValueTask<Outcome<AttemptResult>> AttemptAsync(ResilienceContext resilience, ForwardingRequest request)
    {
        // The first member was picked already, to tell "no server" at once; later attempts walk on from the tried ones.
        var index = request.Attempts == 0 ? request.FirstIndex : request.Snapshot.Table.Pick(request.Hash, request.Tried);
        if (index < 0)
        {
            return new(Outcome.FromResult(AttemptResult.NoServer));
        }

        var context = request.HttpContext;
        if (request.Attempts > 0)
        {
            ResetForRetry(request);
        }

        var attempt = request.Begin(index);
        var member = request.Member!;
        context.Response.Headers[UpstreamHeader] = member.Name;
        for (var i = 0; i < _observers.Length; i++)
        {
            request.Observations[i] = _observers[i].AttemptStarting(context, member, attempt);
        }

        member.BeginRequest();
        return _breakers.For(member).ExecuteOutcomeAsync(
            static (_, state) => state.Handler.ForwardAsync(state),
            resilience,
            request);
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
                request.HttpContext, request.Member!.DestinationPrefix, _invoker, _requestConfig, _transformer, request.BeginForward()).ConfigureAwait(false);
            result = Classify(request, error);
        }
        finally
        {
            EndAttempt(request, result);
        }

        return Outcome.FromResult(result);
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
                var refused = new AttemptResult(AttemptKind.BreakerOpen, 0, request.CanRetry(nothingSent: true), broken);
                EndAttempt(request, refused);
                return refused;
            case var exception:
                EndAttempt(request, new AttemptResult(AttemptKind.TransportFailed, 0, Retryable: false, exception));
                return Rethrow(exception);
        }
    }

    /// <summary>Ends the current attempt once: the member's in-flight count, the observer, the log.</summary>
    private void EndAttempt(ForwardingRequest request, in AttemptResult result)
    {
        if (!request.TryEndAttempt())
        {
            return;
        }

        var member = request.Member!;
        member.EndRequest(served: result.Kind is AttemptKind.Success or AttemptKind.ServerError);
        for (var i = 0; i < _observers.Length; i++)
        {
            _observers[i].AttemptCompleted(request.HttpContext, member, request.Attempts, result, request.Observations[i]);
        }

        if (result.Kind is not (AttemptKind.Success or AttemptKind.ServerError) || request.HeldBack)
        {
            // The message only: a dead member under load fails many attempts before probes take it out.
            LogAttemptFailed(_logger, request.Attempts, member.Name, result.KindName, result.StatusCode, result.Retryable, RootCause(result.Exception)?.Message);
        }
    }

    private static AttemptResult Classify(ForwardingRequest request, ForwarderError error)
    {
        var context = request.HttpContext;
        var status = context.Response.StatusCode;
        if (error == ForwarderError.None)
        {
            return request.HeldBack
                ? new AttemptResult(AttemptKind.ServerError, status, Retryable: true)
                : new AttemptResult(status >= 500 ? AttemptKind.ServerError : AttemptKind.Success, status, Retryable: false);
        }

        var exception = context.Features.Get<IForwarderErrorFeature>()?.Exception;
        if (context.RequestAborted.IsCancellationRequested || error is ForwarderError.RequestBodyClient or ForwarderError.ResponseBodyClient)
        {
            return new AttemptResult(AttemptKind.ClientFailed, 0, Retryable: false, exception);
        }

        if (error == ForwarderError.Request && IsConnectionFailure(exception))
        {
            return new AttemptResult(AttemptKind.ConnectionFailed, 0, request.CanRetry(nothingSent: true), exception);
        }

        // Our deadlines cancel the forward (YARP reports RequestCanceled); its own activity timeout is RequestTimedOut.
        var kind = error == ForwarderError.RequestTimedOut || request.TimedOut ? AttemptKind.Timeout : AttemptKind.TransportFailed;
        return new AttemptResult(kind, 0, request.CanRetry(nothingSent: false), exception);
    }

    /// <summary>True when the connection could not be opened, so no byte of the request reached the member.</summary>
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

    /// <summary>Writes the proxy's own answer when the last attempt left nothing for the client.</summary>
    private async Task CompleteAsync(ForwardingRequest request, AttemptResult result)
    {
        var context = request.HttpContext;
        if (context.Response.HasStarted || context.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        var member = request.Member?.Name ?? "?";
        switch (result.Kind)
        {
            case AttemptKind.Success:
            case AttemptKind.ServerError when !request.HeldBack:
                return;
            case AttemptKind.ClientFailed:
                // The client is still there, so its request was at fault (a body over Kestrel's limit, a malformed
                // chunk): YARP chose the status (413, 400), the body says what was wrong.
                await WriteFailureAsync(
                    context,
                    context.Response.StatusCode >= 400 ? context.Response.StatusCode : StatusCodes.Status400BadRequest,
                    $"<Error> The request body could not be read: {RootCause(result.Exception)?.Message ?? "the client failed while sending it"}").ConfigureAwait(false);
                return;
            case AttemptKind.NoServer:
            case AttemptKind.ConnectionFailed:
            case AttemptKind.BreakerOpen:
                // Nothing reached any member: as good as no server at all.
                LogGaveUp(_logger, request.Attempts, member, result.KindName);
                await WriteNoServerAsync(context).ConfigureAwait(false);
                return;
            case AttemptKind.ServerError:
                LogGaveUp(_logger, request.Attempts, member, result.KindName);
                await WriteFailureAsync(context, result.StatusCode, $"<Error> Server {member} answered {result.StatusCode}").ConfigureAwait(false);
                return;
            case AttemptKind.Timeout when request.DeadlinePassed:
                LogGaveUp(_logger, request.Attempts, member, "deadline");
                await WriteFailureAsync(context, StatusCodes.Status504GatewayTimeout, $"<Error> No server answered within {_retry.TotalTimeout.TotalSeconds:0.###} s").ConfigureAwait(false);
                return;
            case AttemptKind.Timeout:
                LogGaveUp(_logger, request.Attempts, member, result.KindName);
                await WriteFailureAsync(context, StatusCodes.Status504GatewayTimeout, $"<Error> Server {member} did not answer in time").ConfigureAwait(false);
                return;
            default:
                LogGaveUp(_logger, request.Attempts, member, result.KindName);
                await WriteFailureAsync(context, StatusCodes.Status502BadGateway, $"<Error> Server {member} failed while serving the request").ConfigureAwait(false);
                return;
        }
    }

    /// <summary>The exception that says what happened: YARP may wrap the body's failure in an aggregate with others.</summary>
    private static Exception? RootCause(Exception? exception)
    {
        var root = exception?.GetBaseException();
        return root is AggregateException aggregate && aggregate.Flatten().InnerExceptions is [var first, ..] ? first.GetBaseException() : root;
    }

    private static Task WriteFailureAsync(HttpContext context, int statusCode, string message)
    {
        var upstream = context.Response.Headers[UpstreamHeader];
        context.Response.Clear();
        context.Response.Headers[UpstreamHeader] = upstream;
        return Replies.Replies.WriteFailureAsync(context, statusCode, message);
    }

    private Task WriteNoServerAsync(HttpContext context)
    {
        context.Response.Clear();
        context.Response.Headers.RetryAfter = _retryAfter;
        return Replies.Replies.WriteAsync(context, StatusCodes.Status503ServiceUnavailable, NoServerBody);
    }

    private static bool IsIdempotent(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) || HttpMethods.IsPut(method) || HttpMethods.IsDelete(method);

    private static AttemptResult Rethrow(Exception exception)
    {
        ExceptionDispatchInfo.Throw(exception);
        return default;
    }

    [LoggerMessage(EventId = 200, Level = LogLevel.Warning, Message = "Forwarding failed after {Attempts} attempts, last to {Member}: {Reason}")]
    private static partial void LogGaveUp(ILogger logger, int attempts, string member, string reason);

    [LoggerMessage(EventId = 202, Level = LogLevel.Warning, Message = "Not retried: the retry budget is spent ({Retrying} of {Active} requests in flight are retrying); {Member} failed with {Kind}")]
    private static partial void LogRetryRefused(ILogger logger, string member, string kind, int retrying, int active);

    [LoggerMessage(EventId = 201, Level = LogLevel.Information, Message = "Attempt {Attempt} to {Member} failed: {Kind} {StatusCode}; retryable: {Retryable}; {Error}")]
    private static partial void LogAttemptFailed(ILogger logger, int attempt, string member, string kind, int statusCode, bool retryable, string? error);
}
