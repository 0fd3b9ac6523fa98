namespace LoadBalancer.Proxy.Provisioning;

/// <summary>What runs the servers: with an engine, membership follows its list and /add, /rm go through it.</summary>
internal static class ProvisioningRegistration
{
    /// <summary>
    /// Registers the provisioning options and what <c>/add</c> and <c>/rm</c> change through; with an engine configured,
    /// also its client and the membership source that follows its list, in place of service discovery's.
    /// </summary>
    public static IServiceCollection AddProvisioning(this IServiceCollection services, bool engine)
    {
        services.AddValidatedOptions<ProvisioningOptions, ProvisioningOptionsValidator>(ProvisioningOptions.SectionName);
        services.AddSingleton<ServerChanges>();
        if (engine)
        {
            services.AddSingleton<IServerProvisioner, AppHostProvisioner>();
            services.AddSingleton<ProvisionedMembershipSource>();
            services.AddHostedService(sp => sp.GetRequiredService<ProvisionedMembershipSource>());
        }

        return services;
    }

    /// <summary>Whether the configuration names an engine (read before the options exist, to choose the registrations).</summary>
    public static bool UsesEngine(IConfiguration configuration) =>
        Enum.TryParse<ProvisioningEngine>(configuration[$"{ProvisioningOptions.SectionName}:{nameof(ProvisioningOptions.Engine)}"], ignoreCase: true, out var engine)
        && engine != ProvisioningEngine.None;
}
