using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LoadBalancer.Proxy.Docker;

/// <summary>
/// What the proxy last heard from the Docker engine, for <c>/health</c>: watching (Healthy), or cut off since a time
/// with the last membership kept (Degraded, with the reason), or not yet listed.
/// </summary>
public sealed class DockerMembershipHealth(TimeProvider time) : IHealthCheck
{
    /// <summary>The registration name: <c>/health</c> reports it under <c>checks.docker</c>.</summary>
    public const string Name = "docker";

    private volatile Snapshot _current = new(Connected: false, Members: 0, Since: time.GetUtcNow(), Reason: "the server containers are not listed yet");

    /// <summary>Whether the last call to the engine succeeded.</summary>
    public bool Connected => _current.Connected;

    /// <summary>Records a successful list, with the number of member servers it gave.</summary>
    public void Reached(int members) => _current = new Snapshot(true, members, time.GetUtcNow(), null);

    /// <summary>Records that the engine could not be reached; the membership stays as it was.</summary>
    public void Lost(string reason)
    {
        var previous = _current;
        _current = new Snapshot(false, previous.Members, previous.Connected ? time.GetUtcNow() : previous.Since, reason);
    }

    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default)
    {
        var now = _current;
        return Task.FromResult(now.Connected
            ? HealthCheckResult.Healthy($"watching the server containers' events: {now.Members} healthy")
            : HealthCheckResult.Degraded(
                $"Docker engine unreachable since {now.Since:O} ({now.Reason}); keeping the last membership ({now.Members} servers) until it answers again"));
    }

    private sealed record Snapshot(bool Connected, int Members, DateTimeOffset Since, string? Reason);
}
