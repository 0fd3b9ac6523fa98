namespace LoadBalancer.Proxy.Health;

/// <summary>
/// Whether each server takes requests (see docs/failover.md): active probes, a circuit breaker per server, and the
/// proxy's own <c>/health</c> check, which reports them.
/// </summary>
internal static class HealthRegistration
{
    /// <summary>Registers the probes, the breakers and the health check.</summary>
    public static IServiceCollection AddServerHealth(this IServiceCollection services)
    {
        services.AddValidatedOptions<HealthOptions, HealthOptionsValidator>(HealthOptions.SectionName);
        services.AddValidatedOptions<CircuitBreakerOptions>(CircuitBreakerOptions.SectionName);
        services.AddSingleton<HealthMetrics>();
        services.AddSingleton<ServerAvailability>();
        services.AddSingleton<ServerCircuitBreakers>();
        services.AddSingleton<ServerProbes>();
        services.AddHostedService(sp => sp.GetRequiredService<ServerProbes>());
        services.AddHealthChecks().AddCheck<ProxyHealthCheck>(ProxyHealthCheck.Name);
        return services;
    }
}
