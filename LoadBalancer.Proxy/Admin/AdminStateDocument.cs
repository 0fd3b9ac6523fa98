using System.Text.Json.Serialization;

namespace LoadBalancer.Proxy.Admin;

/// <summary>The state file's JSON: <c>{"version":1,"added":{"name":"address"},"removed":["name"]}</c>.</summary>
internal sealed class AdminStateDocument
{
    [JsonPropertyName("version")]
    public int Version { get; init; }

    [JsonPropertyName("added")]
    public Dictionary<string, string>? Added { get; init; }

    [JsonPropertyName("removed")]
    public List<string>? Removed { get; init; }
}
