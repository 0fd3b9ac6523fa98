namespace LoadBalancer.Proxy.Balancing;

/// <summary>How keys are spread over servers: the algorithm, the hash function and their parameters.</summary>
internal static class BalancingRegistration
{
    /// <summary>Registers the balancing settings (the tables themselves are built by the membership for each snapshot).</summary>
    public static IServiceCollection AddBalancing(this IServiceCollection services) =>
        services.AddValidatedOptions<BalancingOptions, BalancingOptionsValidator>(BalancingOptions.SectionName).Services;
}
