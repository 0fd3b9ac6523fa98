using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LoadBalancer.Proxy.Kubernetes;

/// <summary>
/// What the proxy last heard from the Kubernetes API, for <c>/health</c>: watching (Healthy), or cut off since a time
/// with the last membership kept (Degraded, with the reason), or not yet listed.
/// </summary>
public sealed class KubernetesMembershipHealth(TimeProvider time) : IHealthCheck
{
    /// <summary>The registration name: <c>/health</c> reports it under <c>checks.kubernetes</c>.</summary>
    public const string Name = "kubernetes";

    private volatile Snapshot _current = new(Connected: false, Servers: 0, Since: time.GetUtcNow(), Reason: "the EndpointSlices are not listed yet");

    /// <summary>Whether the last call to the API succeeded.</summary>
    public bool Connected => _current.Connected;

    /// <summary>Records a successful list or watch event, with the number of ready servers it gave.</summary>
    public void Reached(int servers) => _current = new Snapshot(true, servers, time.GetUtcNow(), null);

    /// <summary>Records that the API could not be reached or refused; the membership stays as it was.</summary>
    public void Lost(string reason)
    {
        var previous = _current;
        _current = new Snapshot(false, previous.Servers, previous.Connected ? time.GetUtcNow() : previous.Since, reason);
    }

    /// <summary>How long ago the API was lost, if it is.</summary>
    public TimeSpan? LostFor => _current is { Connected: false } lost ? time.GetUtcNow() - lost.Since : null;

    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var now = _current;
        return Task.FromResult(now.Connected
            ? HealthCheckResult.Healthy($"watching the servers' EndpointSlices: {now.Servers} ready")
            : HealthCheckResult.Degraded(
                $"Kubernetes API unreachable since {now.Since:O} ({now.Reason}); keeping the last membership ({now.Servers} servers) until it answers again"));
    }

    private sealed record Snapshot(bool Connected, int Servers, DateTimeOffset Since, string? Reason);
}
