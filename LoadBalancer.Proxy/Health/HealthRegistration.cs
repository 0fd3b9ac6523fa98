namespace LoadBalancer.Proxy.Health;

/// <summary>
/// Whether each member takes requests (see docs/failover.md): active probes, a circuit breaker per member, and the
/// proxy's own <c>/health</c> check, which reports them.
/// </summary>
internal static class HealthRegistration
{
    /// <summary>Registers the probes, the breakers and the health check.</summary>
    public static IServiceCollection AddMemberHealth(this IServiceCollection services)
    {
        services.AddValidatedOptions<HealthOptions, HealthOptionsValidator>(HealthOptions.SectionName);
        services.AddValidatedOptions<CircuitBreakerOptions>(CircuitBreakerOptions.SectionName);
        services.AddSingleton<HealthMetrics>();
        services.AddSingleton<UpstreamAvailability>();
        services.AddSingleton<UpstreamCircuitBreakers>();
        services.AddSingleton<ActiveHealthChecker>();
        services.AddHostedService(sp => sp.GetRequiredService<ActiveHealthChecker>());
        services.AddHealthChecks().AddCheck<UpstreamHealthCheck>(UpstreamHealthCheck.Name);
        return services;
    }
}
