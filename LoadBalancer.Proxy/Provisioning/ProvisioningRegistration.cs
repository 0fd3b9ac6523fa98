using LoadBalancer.Proxy.Docker;

namespace LoadBalancer.Proxy.Provisioning;

/// <summary>What runs the servers: with an engine, membership follows its list and /add, /rm go through it.</summary>
internal static class ProvisioningRegistration
{
    /// <summary>
    /// Registers the provisioning options and what <c>/add</c> and <c>/rm</c> change through; with an engine configured,
    /// also its client and the membership source that follows its list, in place of service discovery's.
    /// </summary>
    /// <param name="services">The proxy's services.</param>
    /// <param name="engine">The configured engine; <c>Kubernetes</c> registers its own (KubernetesRegistration).</param>
    public static IServiceCollection AddProvisioning(this IServiceCollection services, ProvisioningEngine engine)
    {
        services.AddValidatedOptions<ProvisioningOptions, ProvisioningOptionsValidator>(ProvisioningOptions.SectionName);
        services.AddSingleton<ServerChanges>();
        services.AddDockerProvisioning(engine == ProvisioningEngine.Docker);
        if (engine is ProvisioningEngine.AppHost or ProvisioningEngine.Docker)
        {
            if (engine == ProvisioningEngine.AppHost)
            {
                services.AddSingleton<IServerProvisioner, AppHostProvisioner>();
            }

            services.AddSingleton<ProvisionedMembershipSource>();
            services.AddSingleton<IEngineServers>(sp => sp.GetRequiredService<ProvisionedMembershipSource>());
            services.AddHostedService(sp => sp.GetRequiredService<ProvisionedMembershipSource>());
        }

        return services;
    }

    /// <summary>Whether the configuration names an engine (read before the options exist, to choose the registrations).</summary>
    public static ProvisioningEngine EngineOf(IConfiguration configuration) =>
        Enum.TryParse<ProvisioningEngine>(configuration[$"{ProvisioningOptions.SectionName}:{nameof(ProvisioningOptions.Engine)}"], ignoreCase: true, out var engine)
            ? engine
            : ProvisioningEngine.None;

    /// <summary>
    /// Refuses an engine that does not fit the membership: the Kubernetes engine scales the StatefulSet whose
    /// EndpointSlices Kubernetes membership watches, so it needs it; any other engine with it would give two server lists.
    /// </summary>
    public static void CheckEngine(ProvisioningEngine engine, bool kubernetes)
    {
        if (engine == ProvisioningEngine.Kubernetes && !kubernetes)
        {
            throw new InvalidOperationException("Provisioning:Engine=Kubernetes scales the StatefulSet whose EndpointSlices Kubernetes membership watches: set Kubernetes:Enabled=true too.");
        }

        if (engine != ProvisioningEngine.None && engine != ProvisioningEngine.Kubernetes && kubernetes)
        {
            throw new InvalidOperationException($"Kubernetes:Enabled and Provisioning:Engine={engine} both say where the servers come from: set only one (with Kubernetes:Enabled, Provisioning:Engine may be Kubernetes or None).");
        }
    }
}
