namespace LoadBalancer.AppHost;

/// <summary>
/// The path each project's health check probes. One place for the AppHost (LoadBalancerResources.cs) and the compose
/// generator, which compiles this file too: Aspire's manifest does not carry health checks.
/// </summary>
internal static class HealthCheckPaths
{
    /// <summary>The servers answer the assignment's heartbeat.</summary>
    public const string Server = "/heartbeat";

    /// <summary>Everything else answers ServiceDefaults' readiness endpoint.</summary>
    public const string Default = "/health";

    /// <summary>The path for the project named <paramref name="project"/> (its assembly name).</summary>
    public static string ForProject(string project) => project == "LoadBalancer.Server" ? Server : Default;
}
