using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using LoadBalancer.Proxy.Replies;

namespace LoadBalancer.Proxy.Admin;

/// <summary>The body of <c>POST /add</c> and <c>DELETE /rm</c>: <c>{"n": 2, "hostnames": ["server3"]}</c>.</summary>
public sealed class AdminChangeRequest
{
    /// <summary>How many instances to add or remove.</summary>
    [JsonPropertyName("n")]
    public int? N { get; init; }

    /// <summary>The servers named; optional, at most <see cref="N"/>.</summary>
    [JsonPropertyName("hostnames")]
    public IReadOnlyList<string?>? Hostnames { get; init; }
}

/// <summary>The <c>message</c> of a successful admin answer: <c>{"N": 3, "replicas": [...]}</c>.</summary>
public sealed record ReplicaList(
    [property: JsonPropertyName("N")] int N,
    [property: JsonPropertyName("replicas")] IReadOnlyList<string> Replicas);

/// <summary>
/// Source-generated JSON for the admin API. Requests are read with <see cref="JsonSerializerContext"/>'s Default
/// (unknown and repeated properties are errors); replies are written with <see cref="Relaxed"/>.
/// </summary>
[JsonSourceGenerationOptions(UnmappedMemberHandling = JsonUnmappedMemberHandling.Disallow, AllowDuplicateProperties = false, MaxDepth = 8)]
[JsonSerializable(typeof(AdminChangeRequest))]
[JsonSerializable(typeof(ReplyBody<ReplicaList>))]
public sealed partial class AdminJsonContext : JsonSerializerContext
{
    /// <summary>Writes <c>&lt;Error&gt;</c> literally, like the rest of the proxy's replies.</summary>
    public static AdminJsonContext Relaxed { get; } = new(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
}
