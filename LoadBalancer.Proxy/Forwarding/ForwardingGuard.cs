using System.Diagnostics.Metrics;
using LoadBalancer.Proxy.Replies;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// Requests the proxy answers itself instead of forwarding, before any server is picked: one that already carries this
/// proxy's Via entry (a loop, direct or through other proxies: 508 Loop Detected); <c>OPTIONS *</c>, which the
/// HTTP client cannot send as it came (it writes only origin-form targets, so the servers would get <c>OPTIONS /</c>,
/// another question: 501); a declared body over the limit (413, see <see cref="RequestBodyErrors"/>); and a path a
/// server could take for an admin path (400, see <see cref="Admin.AdminPathGuard"/>).
/// </summary>
/// <remarks>
/// A usual request costs a look at its path and its Via. Loops are counted (<c>loadbalancer.forwarding.loops</c>) and
/// logged as a warning at most once a minute, with the number refused since; each one is logged at Debug.
/// </remarks>
public sealed partial class ForwardingGuard
{
    /// <summary>The counter of requests refused as loops.</summary>
    public const string LoopsName = "loadbalancer.forwarding.loops";

    private static readonly TimeSpan WarningInterval = TimeSpan.FromMinutes(1);

    private static readonly byte[] AsteriskBody = Reply.SerializeFailure(
        "<Error> OPTIONS * cannot be forwarded: the proxy sends only origin-form targets, so the servers would be asked OPTIONS / instead; ask OPTIONS of a path");

    private readonly ViaHeader _via;
    private readonly byte[] _loopBody;
    private readonly Counter<long> _loops;
    private readonly TimeProvider _time;
    private readonly ILogger<ForwardingGuard> _logger;
    private readonly long _warningIntervalTicks;
    private long _nextWarning;
    private long _unwarned;

    /// <summary>Creates the guard.</summary>
    public ForwardingGuard(ViaHeader via, IMeterFactory meterFactory, TimeProvider time, ILogger<ForwardingGuard> logger)
    {
        _via = via;
        _time = time;
        _logger = logger;
        _warningIntervalTicks = (long)(WarningInterval.TotalSeconds * time.TimestampFrequency);
        _nextWarning = time.GetTimestamp();
        _loopBody = Reply.SerializeFailure(
            $"<Error> Forwarding loop: the request already passed through this proxy (its Via names {via.Pseudonym})");
        _loops = meterFactory.Create(ProxyApplication.TelemetryName).CreateCounter<long>(
            LoopsName, "{request}", "Requests answered 508 Loop Detected because their Via already named this proxy.");
    }

    /// <summary>The proxy's own answer to <paramref name="context"/>, or null when the request is to be forwarded.</summary>
    public Task? Refuse(HttpContext context)
    {
        if (RequestTarget.IsAsteriskForm(context))
        {
            LogAsteriskRefused(_logger, context.Connection.RemoteIpAddress);
            return Reply.WriteAsync(context, StatusCodes.Status501NotImplemented, AsteriskBody);
        }

        var via = context.Request.Headers.Via;
        if (via.Count > 0 && _via.IsOwnEntryIn(via))
        {
            RefusedLoop(context, via.ToString());
            return Reply.WriteAsync(context, StatusCodes.Status508LoopDetected, _loopBody);
        }

        if (RequestBodyErrors.DeclaredOverLimit(context, out var bodyLimit))
        {
            return RequestBodyErrors.WriteTooLargeAsync(context, bodyLimit, _logger);
        }

        if (Admin.AdminPathGuard.LooksLikeAdminPath(context.Request.Path.Value, out var adminPath))
        {
            return Admin.AdminPathGuard.WriteRefusalAsync(context, adminPath, _logger);
        }

        return null;
    }

    private void RefusedLoop(HttpContext context, string via)
    {
        _loops.Add(1);
        var client = context.Connection.RemoteIpAddress;
        var now = _time.GetTimestamp();
        var next = Interlocked.Read(ref _nextWarning);
        if (now >= next && Interlocked.CompareExchange(ref _nextWarning, now + _warningIntervalTicks, next) == next)
        {
            LogLoop(_logger, client, _via.Pseudonym, via, Interlocked.Exchange(ref _unwarned, 0));
            return;
        }

        Interlocked.Increment(ref _unwarned);
        LogLoopAgain(_logger, client, via);
    }

    [LoggerMessage(EventId = 210, Level = LogLevel.Warning,
        Message = "Forwarding loop: a request from {Client} already carried this proxy's Via entry ({Pseudonym}) and was answered 508 (Via: {Via}); {Since} more since the last warning. Does a server forward back to this proxy? Give each proxy tier its own Forwarding:Via")]
    private static partial void LogLoop(ILogger logger, System.Net.IPAddress? client, string pseudonym, string via, long since);

    [LoggerMessage(EventId = 211, Level = LogLevel.Debug, Message = "Forwarding loop: a request from {Client} was answered 508 (Via: {Via})")]
    private static partial void LogLoopAgain(ILogger logger, System.Net.IPAddress? client, string via);

    [LoggerMessage(EventId = 212, Level = LogLevel.Debug, Message = "OPTIONS * from {Client} answered 501: it cannot be forwarded as asked")]
    private static partial void LogAsteriskRefused(ILogger logger, System.Net.IPAddress? client);
}
