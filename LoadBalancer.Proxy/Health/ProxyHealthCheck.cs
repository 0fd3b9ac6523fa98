using System.Text.Json;
using LoadBalancer.Proxy.Balancing;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LoadBalancer.Proxy.Health;

/// <summary>
/// The proxy's own health: Healthy when every ring server takes requests, Degraded when some do, Unhealthy when none
/// does (or the ring is empty). The per-server state goes into the result's data for <see cref="WriteResponseAsync"/>.
/// </summary>
public sealed class ProxyHealthCheck(TableState ring, ServerCircuitBreakers breakers) : IHealthCheck
{
    /// <summary>The registration name.</summary>
    public const string Name = "upstreams";

    /// <summary>Options for <c>MapHealthChecks</c>: Degraded still answers 200, the body is <see cref="WriteResponseAsync"/>.</summary>
    public static HealthCheckOptions EndpointOptions { get; } = new()
    {
        ResponseWriter = WriteResponseAsync,
        ResultStatusCodes =
        {
            [HealthStatus.Healthy] = StatusCodes.Status200OK,
            [HealthStatus.Degraded] = StatusCodes.Status200OK,
            [HealthStatus.Unhealthy] = StatusCodes.Status503ServiceUnavailable,
        },
    };

    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var servers = ring.Current?.Table.Servers ?? [];
        var data = new Dictionary<string, object>(servers.Length, StringComparer.Ordinal);
        var up = 0;
        foreach (var server in servers)
        {
            if (server.IsAvailable)
            {
                up++;
            }

            data[server.Name] = new ServerHealth(
                server.IsAvailable ? "up" : "down",
                server.Address.ToString(),
                Describe(server.UnavailableReasons),
                breakers.StateOf(server).ToString(),
                server.InFlight,
                server.Served);
        }

        var description = $"{up} of {servers.Length} servers take requests";
        var result = up == servers.Length && up > 0
            ? HealthCheckResult.Healthy(description, data)
            : up > 0
                ? HealthCheckResult.Degraded(description, data: data)
                : HealthCheckResult.Unhealthy(description, data: data);
        return Task.FromResult(result);
    }

    /// <summary>
    /// Writes <c>{"status":"Degraded","checks":{…},"servers":{"server1":{"state":"up",…}}}</c>: the overall status,
    /// every check's status and every server's state.
    /// </summary>
    public static async Task WriteResponseAsync(HttpContext context, HealthReport report)
    {
        context.Response.ContentType = "application/json; charset=utf-8";
        await using var json = new Utf8JsonWriter(context.Response.Body, new JsonWriterOptions { Indented = true });
        json.WriteStartObject();
        json.WriteString("status", report.Status.ToString());
        json.WriteStartObject("checks");
        foreach (var (name, entry) in report.Entries)
        {
            json.WriteStartObject(name);
            json.WriteString("status", entry.Status.ToString());
            if (entry.Description is not null)
            {
                json.WriteString("description", entry.Description);
            }

            json.WriteEndObject();
        }

        json.WriteEndObject();
        json.WriteStartObject("servers");
        if (report.Entries.TryGetValue(Name, out var upstreams))
        {
            foreach (var (server, value) in upstreams.Data)
            {
                if (value is ServerHealth health)
                {
                    json.WriteStartObject(server);
                    json.WriteString("state", health.State);
                    json.WriteString("address", health.Address);
                    json.WriteStartArray("reasons");
                    foreach (var reason in health.Reasons)
                    {
                        json.WriteStringValue(reason);
                    }

                    json.WriteEndArray();
                    json.WriteString("circuitBreaker", health.CircuitBreaker);
                    json.WriteNumber("inFlight", health.InFlight);
                    json.WriteNumber("served", health.Served);
                    json.WriteEndObject();
                }
            }
        }

        json.WriteEndObject();
        json.WriteEndObject();
    }

    private static string[] Describe(UnavailableReasons reasons) =>
        [.. Enum.GetValues<UnavailableReasons>().Where(r => r != UnavailableReasons.None && reasons.HasFlag(r)).Select(r => r.ToString())];

    /// <summary>One server's state as <c>/health</c> reports it.</summary>
    public sealed record ServerHealth(string State, string Address, string[] Reasons, string CircuitBreaker, int InFlight, long Served);
}
