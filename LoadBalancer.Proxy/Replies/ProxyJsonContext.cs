using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace LoadBalancer.Proxy.Replies;

/// <summary>Source-generated JSON metadata for the proxy's replies.</summary>
[JsonSerializable(typeof(ReplyBody<string>))]
public sealed partial class ProxyJsonContext : JsonSerializerContext
{
    /// <summary>Writes <c>&lt;Error&gt;</c> and quotes as they are, as the assignment's clients expect to read them.</summary>
    public static ProxyJsonContext Relaxed { get; } = new(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
}
