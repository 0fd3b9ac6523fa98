using k8s;
using LoadBalancer.Proxy.Provisioning;

namespace LoadBalancer.Proxy.Kubernetes;

/// <summary>Membership from the Kubernetes API, when <c>Kubernetes:Enabled</c> (docs/kubernetes.md).</summary>
internal static class KubernetesRegistration
{
    /// <summary>
    /// Registers the Kubernetes options and, when enabled, the EndpointSlice membership source, its client and its
    /// <c>/health</c> check; with <c>Provisioning:Engine=Kubernetes</c> also the StatefulSet scaler.
    /// </summary>
    /// <returns>Whether Kubernetes membership is on: then service discovery must not feed the ring too.</returns>
    public static bool AddKubernetesMembership(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<KubernetesOptions, KubernetesOptionsValidator>(KubernetesOptions.SectionName);
        if (!configuration.GetValue<bool>($"{KubernetesOptions.SectionName}:{nameof(KubernetesOptions.Enabled)}"))
        {
            return false;
        }

        services.AddSingleton<IKubernetes>(sp =>
        {
            var options = sp.GetRequiredService<Microsoft.Extensions.Options.IOptions<KubernetesOptions>>().Value;
            // Outside a cluster (kubectl proxy, tests) the API server is named and sent no credentials.
            var config = options.ApiServer is { } server
                ? new KubernetesClientConfiguration { Host = server.ToString() }
                : KubernetesClientConfiguration.InClusterConfig();
            return new k8s.Kubernetes(config);
        });
        services.AddSingleton<KubernetesMembershipHealth>();
        services.AddSingleton<KubernetesMembershipSource>();
        services.AddHostedService(sp => sp.GetRequiredService<KubernetesMembershipSource>());
        if (ProvisioningRegistration.EngineOf(configuration) == ProvisioningEngine.Kubernetes)
        {
            // /add and /rm scale the StatefulSet; its pods reach the ring through the slices watched above.
            services.AddSingleton<IServerProvisioner, KubernetesScaler>();
            services.AddSingleton<IEngineServers>(sp => sp.GetRequiredService<KubernetesMembershipSource>());
        }

        services.AddHealthChecks().AddCheck<KubernetesMembershipHealth>(KubernetesMembershipHealth.Name);
        return true;
    }
}
