using Docker.DotNet;
using LoadBalancer.Proxy.Provisioning;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Docker;

/// <summary>Docker as the engine that runs the servers, when <c>Provisioning:Engine=Docker</c> (docs/deployment.md).</summary>
internal static class DockerRegistration
{
    /// <summary>
    /// Registers the Docker options and, with the Docker engine, its client, the watch of the server containers, the
    /// provisioner the membership and <c>/add</c>, <c>/rm</c> go through, and the <c>/health</c> check.
    /// </summary>
    public static IServiceCollection AddDockerProvisioning(this IServiceCollection services, bool enabled)
    {
        services.AddValidatedOptions<DockerOptions, DockerOptionsValidator>(DockerOptions.SectionName);
        if (!enabled)
        {
            return services;
        }

        services.AddSingleton<IDockerClient>(sp =>
        {
            var options = sp.GetRequiredService<IOptions<DockerOptions>>().Value;
            return new DockerClientConfiguration(options.Endpoint, defaultTimeout: options.RequestTimeout).CreateClient();
        });
        services.AddSingleton<DockerMembershipHealth>();
        services.AddSingleton<DockerServerWatch>();
        // Before the membership source (registered after this call), so its first list finds the watch's.
        services.AddHostedService(sp => sp.GetRequiredService<DockerServerWatch>());
        services.AddSingleton<IServerProvisioner, DockerProvisioner>();
        services.AddHealthChecks().AddCheck<DockerMembershipHealth>(DockerMembershipHealth.Name);
        return services;
    }
}
