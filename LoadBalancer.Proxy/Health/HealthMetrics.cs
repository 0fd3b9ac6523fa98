using System.Diagnostics;
using System.Diagnostics.Metrics;
using LoadBalancer.Proxy.Membership;
using LoadBalancer.Proxy.Telemetry;

namespace LoadBalancer.Proxy.Health;

/// <summary>
/// Counters for health: members leaving and rejoining, breaker transitions, plus a gauge of
/// member availability. All on the proxy's meter <see cref="ProxyApplication.TelemetryName"/>.
/// </summary>
public sealed class HealthMetrics
{
    private readonly Counter<long> _availabilityChanges;
    private readonly Counter<long> _breakerTransitions;

    /// <summary>Creates the instruments on the proxy's meter.</summary>
    public HealthMetrics(IMeterFactory meterFactory, RingState ring)
    {
        var meter = meterFactory.Create(ProxyApplication.TelemetryName);
        _availabilityChanges = meter.CreateCounter<long>(
            "loadbalancer.upstream.availability_changes", "{change}", "Times a member left or rejoined routing.");
        _breakerTransitions = meter.CreateCounter<long>(
            "loadbalancer.circuit_breaker.transitions", "{transition}", "Circuit breaker state changes per member.");
        meter.CreateObservableGauge(
            "loadbalancer.upstream.available",
            () => Observe(ring),
            "{member}",
            "1 when the member takes requests, 0 when health or its breaker holds it out.");
    }

    /// <summary>Counts a member leaving (<paramref name="available"/> false) or rejoining routing.</summary>
    public void AvailabilityChanged(string member, bool available, string source) =>
        _availabilityChanges.Add(1, new TagList
        {
            { ProxyTelemetry.MemberAttribute, member },
            { "loadbalancer.upstream.state", available ? "up" : "down" },
            { "loadbalancer.source", source },
        });

    /// <summary>Counts a breaker transition to <paramref name="state"/> (<c>open</c>, <c>half_open</c>, <c>closed</c>).</summary>
    public void BreakerTransition(string member, string state) =>
        _breakerTransitions.Add(1, new TagList
        {
            { ProxyTelemetry.MemberAttribute, member },
            { "loadbalancer.circuit_breaker.state", state },
        });

    private static IEnumerable<Measurement<int>> Observe(RingState ring)
    {
        var snapshot = ring.Current;
        if (snapshot is null)
        {
            yield break;
        }

        foreach (var member in snapshot.Table.Members)
        {
            yield return new Measurement<int>(member.IsAvailable ? 1 : 0, new KeyValuePair<string, object?>(ProxyTelemetry.MemberAttribute, member.Name));
        }
    }
}
