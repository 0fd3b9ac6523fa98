namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// Requests the proxy answers itself instead of forwarding, before any member is picked: <c>OPTIONS *</c>, which the
/// HTTP client cannot send as it came (it writes only origin-form targets, so the servers would get <c>OPTIONS /</c>,
/// another question: 501).
/// </summary>
/// <remarks>A usual request costs a look at its path.</remarks>
public sealed partial class ForwardingGuard
{
    private static readonly byte[] AsteriskBody = Replies.Replies.SerializeFailure(
        "<Error> OPTIONS * cannot be forwarded: the proxy sends only origin-form targets, so the servers would be asked OPTIONS / instead; ask OPTIONS of a path");

    private readonly ILogger<ForwardingGuard> _logger;

    /// <summary>Creates the guard.</summary>
    public ForwardingGuard(ILogger<ForwardingGuard> logger)
    {
        _logger = logger;
    }

    /// <summary>The proxy's own answer to <paramref name="context"/>, or null when the request is to be forwarded.</summary>
    public Task? Refuse(HttpContext context)
    {
        if (RequestTarget.IsAsteriskForm(context))
        {
            LogAsteriskRefused(_logger, context.Connection.RemoteIpAddress);
            return Replies.Replies.WriteAsync(context, StatusCodes.Status501NotImplemented, AsteriskBody);
        }

        return null;
    }

    [LoggerMessage(EventId = 212, Level = LogLevel.Debug, Message = "OPTIONS * from {Client} answered 501: it cannot be forwarded as asked")]
    private static partial void LogAsteriskRefused(ILogger logger, System.Net.IPAddress? client);
}
