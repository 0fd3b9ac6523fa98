namespace LoadBalancer.Proxy.Provisioning;

/// <summary>
/// The seam between the proxy and whatever runs its servers (the AppHost's pool; Docker and Kubernetes fit the same
/// shape): list the servers that exist with a change signal, start servers by name, stop them.
/// </summary>
public interface IServerProvisioner
{
    /// <summary>
    /// The servers that exist and are ready, once the list is newer than <paramref name="after"/> (at once for null),
    /// or the same list again when the engine's wait ends without a change.
    /// </summary>
    Task<ProvisionedList> ListAsync(long? after, CancellationToken cancellationToken);

    /// <summary>
    /// Starts <paramref name="count"/> servers, the first named <paramref name="names"/> and the rest with names the
    /// engine invents, and answers once they are ready; a server not ready within <paramref name="timeout"/> is stopped
    /// again with every other one this call started.
    /// </summary>
    Task<ProvisioningResult> StartAsync(IReadOnlyList<string> names, int count, TimeSpan timeout, CancellationToken cancellationToken);

    /// <summary>Stops the servers named <paramref name="names"/>, first taking them off the list, then after <paramref name="drain"/>.</summary>
    Task<ProvisioningResult> StopAsync(IReadOnlyList<string> names, TimeSpan drain, CancellationToken cancellationToken);
}

/// <summary>A server the engine runs: its ring name and its endpoints by name (<c>http</c>, <c>h2c</c>).</summary>
public sealed record ProvisionedServer(string Name, Uri Http, Uri? H2c);

/// <summary>The engine's servers at <paramref name="Version"/>, and how many more it can start.</summary>
public sealed record ProvisionedList(long Version, int Free, IReadOnlyList<ProvisionedServer> Servers);

/// <summary>The outcome of a start or stop: the servers changed, or the status code and message to answer with.</summary>
public sealed record ProvisioningResult(int StatusCode, string? Error, IReadOnlyList<string> Changed)
{
    /// <summary>Whether the change was made.</summary>
    public bool Succeeded => Error is null;
}
