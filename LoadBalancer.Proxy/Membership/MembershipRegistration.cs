namespace LoadBalancer.Proxy.Membership;

/// <summary>Who is in the ring: members found by service discovery, changed by the admin API, published as one snapshot.</summary>
internal static class MembershipRegistration
{
    /// <summary>
    /// Registers discovery, the ring's state and the membership that keeps it; service discovery feeds it unless an
    /// engine that runs the servers does (<paramref name="discovery"/> false, see Provisioning/).
    /// </summary>
    public static IServiceCollection AddMembership(this IServiceCollection services, bool discovery = true)
    {
        services.AddValidatedOptions<DiscoveryOptions>(DiscoveryOptions.SectionName);
        // The proxy resolves its members itself (ServiceDiscoveryMembershipSource) and sends with its own invoker, so
        // service discovery is registered here, for the proxy alone, rather than for every service in ServiceDefaults.
        services.AddServiceDiscovery();
        services.AddSingleton<RingState>();
        services.AddSingleton<MembershipManager>();
        if (discovery)
        {
            services.AddSingleton<ServiceDiscoveryMembershipSource>();
            services.AddHostedService(sp => sp.GetRequiredService<ServiceDiscoveryMembershipSource>());
        }

        return services;
    }
}
