using LoadBalancer.Proxy.Balancing;

namespace LoadBalancer.Proxy.Membership;

/// <summary>Who is in the ring: servers found by service discovery, changed by the admin API, published as one snapshot.</summary>
internal static class MembershipRegistration
{
    /// <summary>Registers discovery, the ring's state and the membership that keeps it.</summary>
    /// <param name="services">The proxy's services.</param>
    /// <param name="serviceDiscovery">False when another source feeds the ring (Kubernetes/, or an engine that runs the servers: Provisioning/), so that the two do not overwrite each other.</param>
    public static IServiceCollection AddMembership(this IServiceCollection services, bool serviceDiscovery = true)
    {
        services.AddValidatedOptions<DiscoveryOptions>(DiscoveryOptions.SectionName);
        // The proxy resolves its servers itself (ServiceDiscoveryMembershipSource) and sends with its own invoker, so
        // service discovery is registered here, for the proxy alone, rather than for every service in ServiceDefaults.
        services.AddServiceDiscovery();
        services.AddSingleton<TableState>();
        services.AddSingleton<MembershipManager>();
        services.AddSingleton<ServiceDiscoveryMembershipSource>();
        if (serviceDiscovery)
        {
            services.AddHostedService(sp => sp.GetRequiredService<ServiceDiscoveryMembershipSource>());
        }

        return services;
    }
}
