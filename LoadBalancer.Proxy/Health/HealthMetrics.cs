using System.Diagnostics;
using System.Diagnostics.Metrics;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Telemetry;

namespace LoadBalancer.Proxy.Health;

/// <summary>
/// Counters for health: servers leaving and rejoining, breaker transitions, plus a gauge of
/// server availability. All on the proxy's meter <see cref="ProxyApplication.TelemetryName"/>.
/// </summary>
public sealed class HealthMetrics
{
    private readonly Counter<long> _availabilityChanges;
    private readonly Counter<long> _breakerTransitions;

    /// <summary>Creates the instruments on the proxy's meter.</summary>
    public HealthMetrics(IMeterFactory meterFactory, TableState ring)
    {
        var meter = meterFactory.Create(ProxyApplication.TelemetryName);
        _availabilityChanges = meter.CreateCounter<long>(
            "loadbalancer.server.availability_changes", "{change}", "Times a server left or rejoined routing.");
        _breakerTransitions = meter.CreateCounter<long>(
            "loadbalancer.circuit_breaker.transitions", "{transition}", "Circuit breaker state changes per server.");
        meter.CreateObservableGauge(
            "loadbalancer.server.available",
            () => Observe(ring),
            "{server}",
            "1 when the server takes requests, 0 when health or its breaker holds it out.");
    }

    /// <summary>Counts a server leaving (<paramref name="available"/> false) or rejoining routing.</summary>
    public void AvailabilityChanged(string server, bool available, string source) =>
        _availabilityChanges.Add(1, new TagList
        {
            { ProxyTelemetry.ServerAttribute, server },
            { "loadbalancer.server.availability", available ? "up" : "down" },
            { "loadbalancer.source", source },
        });

    /// <summary>Counts a breaker transition to <paramref name="state"/> (<c>open</c>, <c>half_open</c>, <c>closed</c>).</summary>
    public void BreakerTransition(string server, string state) =>
        _breakerTransitions.Add(1, new TagList
        {
            { ProxyTelemetry.ServerAttribute, server },
            { "loadbalancer.circuit_breaker.state", state },
        });

    private static IEnumerable<Measurement<int>> Observe(TableState ring)
    {
        var snapshot = ring.Current;
        if (snapshot is null)
        {
            yield break;
        }

        foreach (var server in snapshot.Table.Servers)
        {
            yield return new Measurement<int>(server.IsAvailable ? 1 : 0, new KeyValuePair<string, object?>(ProxyTelemetry.ServerAttribute, server.Name));
        }
    }
}
