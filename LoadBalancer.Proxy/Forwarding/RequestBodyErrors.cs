using System.Globalization;
using Microsoft.AspNetCore.Http.Features;
using LoadBalancer.Proxy.Replies;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// The proxy's own answers to a request body it cannot forward: refused before any server is contacted when the
/// declared length is over the limit, or described with a fixed message when reading it failed mid-way.
/// </summary>
/// <remarks>
/// The messages are stable and documented (docs/hardening.md, "Bodies over the limit"): a client never reads .NET's
/// exception text, which says nothing useful to it and changes between versions. The log keeps the exception's message
/// (event 201). Bodies are serialized once; the "too large" one per limit, which is one value unless a middleware
/// changes it per request.
/// </remarks>
internal static partial class RequestBodyErrors
{
    /// <summary>A chunk size that is not hex or does not fit, a bad chunk suffix, extension or trailer.</summary>
    public const string MalformedMessage = "<Error> The request body's chunked encoding is malformed";

    /// <summary>The connection ended before Content-Length bytes or the last chunk arrived.</summary>
    public const string EndedEarlyMessage = "<Error> The request body ended before it was complete";

    /// <summary>Kestrel's minimum body data rate was not met.</summary>
    public const string TooSlowMessage = "<Error> The request body arrived too slowly";

    /// <summary>Any other failure while reading the body.</summary>
    public const string UnreadableMessage = "<Error> The request body could not be read";

    private static readonly byte[] Malformed = Reply.SerializeFailure(MalformedMessage);
    private static readonly byte[] EndedEarly = Reply.SerializeFailure(EndedEarlyMessage);
    private static readonly byte[] TooSlow = Reply.SerializeFailure(TooSlowMessage);
    private static readonly byte[] Unreadable = Reply.SerializeFailure(UnreadableMessage);
    private static TooLargeReply? _tooLarge;

    /// <summary>The message for a body over <paramref name="limit"/> bytes.</summary>
    public static string TooLargeMessage(long limit) =>
        string.Create(CultureInfo.InvariantCulture, $"<Error> The request body is larger than the limit of {limit} bytes");

    /// <summary>
    /// True when the request declares a body (Content-Length) longer than the server's limit for it: reading it would
    /// fail at once, so nothing is sent to a server. Requests without a declared length pay one null check.
    /// </summary>
    public static bool DeclaredOverLimit(HttpContext context, out long limit)
    {
        limit = 0;
        if (context.Request.ContentLength is not long length
            || context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize is not long max
            || length <= max)
        {
            return false;
        }

        limit = max;
        return true;
    }

    /// <summary>Answers 413 for a body over <paramref name="limit"/> that was never read.</summary>
    public static Task WriteTooLargeAsync(HttpContext context, long limit, ILogger logger)
    {
        LogRefusedTooLarge(logger, context.Request.ContentLength ?? 0, limit);
        context.Response.Clear();
        if (HttpProtocol.IsHttp11(context.Request.Protocol) || HttpProtocol.IsHttp10(context.Request.Protocol))
        {
            // The unread body is still on the connection: close it after the answer rather than read the body to discard it.
            context.Response.Headers.Connection = "close";
        }

        return Reply.WriteAsync(context, StatusCodes.Status413PayloadTooLarge, TooLargeBody(limit));
    }

    /// <summary>
    /// The status and body for a body that failed while it was read (the attempt's exception, as YARP reported it):
    /// 413 too large, 408 too slow, 400 malformed, ended early or otherwise unreadable.
    /// </summary>
    public static (int Status, byte[] Body) Describe(HttpContext context, Exception? exception)
    {
        switch (Find(exception, 0))
        {
            case BadHttpRequestException { StatusCode: StatusCodes.Status413PayloadTooLarge }:
                var limit = context.Features.Get<IHttpMaxRequestBodySizeFeature>()?.MaxRequestBodySize;
                return (StatusCodes.Status413PayloadTooLarge, limit is long max ? TooLargeBody(max) : Unreadable);
            case BadHttpRequestException { StatusCode: StatusCodes.Status408RequestTimeout }:
                return (StatusCodes.Status408RequestTimeout, TooSlow);
            case BadHttpRequestException bad:
                // Kestrel's reason is internal; its two "ended early" texts are the only ones a length-framed body can
                // give, and anything else it rejects a body for is a chunked framing or trailer error.
                return (StatusCodes.Status400BadRequest,
                    bad.Message.StartsWith("Unexpected end", StringComparison.Ordinal) || bad.Message.StartsWith("Chunked request incomplete", StringComparison.Ordinal)
                        ? EndedEarly
                        : Malformed);
            case OverflowException:
                // Kestrel's chunk-size parser overflows on a size of more than 31 bits (e.g. ffffffffffffffffff).
                return (StatusCodes.Status400BadRequest, Malformed);
            default:
                return (StatusCodes.Status400BadRequest, Unreadable);
        }
    }

    /// <summary>The first exception in the chain (aggregates included) that says what was wrong with the body.</summary>
    private static Exception? Find(Exception? exception, int depth)
    {
        for (var current = exception; current is not null && depth < 16; current = current.InnerException, depth++)
        {
            switch (current)
            {
                case BadHttpRequestException or OverflowException:
                    return current;
                case AggregateException aggregate:
                    foreach (var inner in aggregate.InnerExceptions)
                    {
                        if (Find(inner, depth + 1) is { } found)
                        {
                            return found;
                        }
                    }

                    return null;
            }
        }

        return null;
    }

    private static byte[] TooLargeBody(long limit)
    {
        var cached = Volatile.Read(ref _tooLarge);
        if (cached is null || cached.Limit != limit)
        {
            cached = new TooLargeReply(limit, Reply.SerializeFailure(TooLargeMessage(limit)));
            Volatile.Write(ref _tooLarge, cached);
        }

        return cached.Body;
    }

    private sealed record TooLargeReply(long Limit, byte[] Body);

    [LoggerMessage(EventId = 221, Level = LogLevel.Information,
        Message = "Refused before forwarding: the request declares a body of {Length} bytes, over the limit of {Limit}")]
    private static partial void LogRefusedTooLarge(ILogger logger, long length, long limit);
}
