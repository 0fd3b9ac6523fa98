using System.Text.Json.Serialization;

namespace LoadBalancer.Proxy.Replies;

/// <summary>The assignment's reply shape: <c>{"message": …, "status": "successful" | "failure"}</c>.</summary>
public sealed record ReplyBody<T>(
    [property: JsonPropertyName("message")] T Message,
    [property: JsonPropertyName("status")] string Status);
