using System.Text.Json.Serialization;
using LoadBalancer.Proxy.Balancing;

namespace LoadBalancer.Proxy.Telemetry;

/// <summary>One ring server in <see cref="RingReport"/>.</summary>
/// <param name="Name">The server's name.</param>
/// <param name="Address">Its base address.</param>
/// <param name="Weight">Its weight.</param>
/// <param name="Healthy">Whether it may take requests now.</param>
/// <param name="Unavailable">Why not, when it may not (<see cref="UnavailableReasons"/> names).</param>
/// <param name="VirtualNodes">Its points on the ring, for tables that have a ring.</param>
/// <param name="Share">The share of the hash space it owns (0–1).</param>
/// <param name="Served">Requests it answered since the proxy first saw it.</param>
/// <param name="InFlight">Requests in flight to it now.</param>
public sealed record RingServerReport(
    string Name,
    string Address,
    int Weight,
    bool Healthy,
    string[] Unavailable,
    int? VirtualNodes,
    double Share,
    long Served,
    int InFlight);

/// <summary>Source-generated JSON metadata for <c>/ring</c>.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RingReport))]
public sealed partial class RingJsonContext : JsonSerializerContext;
