using System.Text.Json;

namespace LoadBalancer.Proxy.Replies;

/// <summary>Writes the proxy's own answers in the assignment's shape.</summary>
public static class Reply
{
    /// <summary>The status word of a success.</summary>
    public const string Successful = "successful";

    /// <summary>The status word of a failure.</summary>
    public const string Failure = "failure";

    /// <summary>Serializes a failure reply once, for answers sent often (e.g. no server available).</summary>
    public static byte[] SerializeFailure(string message) =>
        JsonSerializer.SerializeToUtf8Bytes(new ReplyBody<string>(message, Failure), ProxyJsonContext.Relaxed.ReplyBodyString);

    /// <summary>Writes a failure reply with <paramref name="statusCode"/>.</summary>
    public static Task WriteFailureAsync(HttpContext context, int statusCode, string message) =>
        WriteAsync(context, statusCode, SerializeFailure(message));

    /// <summary>Writes pre-serialized JSON with <paramref name="statusCode"/>.</summary>
    public static Task WriteAsync(HttpContext context, int statusCode, byte[] json)
    {
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.ContentLength = json.Length;
        return context.Response.Body.WriteAsync(json).AsTask();
    }
}
