using Microsoft.Extensions.DependencyInjection;

namespace LoadBalancer.AppHost.Provisioning;

/// <summary>
/// The servers as declared in the app model: one resource per pool slot, and, when the AppHost runs (not when it
/// writes a manifest), the <see cref="ServerPool"/> that starts and stops them.
/// </summary>
internal sealed class ServerPoolResources(IReadOnlyList<IResourceBuilder<ProjectResource>> slots, int started, ServerPool? pool)
{
    /// <summary>Every slot's resource, in order: <c>server1</c> … <c>serverMax</c>.</summary>
    public IReadOnlyList<IResourceBuilder<ProjectResource>> Slots => slots;

    /// <summary>Every slot's resource name.</summary>
    public IReadOnlySet<string> Resources { get; } = slots.Select(slot => slot.Resource.Name).ToHashSet(StringComparer.Ordinal);

    /// <summary>The pool, when the AppHost runs; none in publish mode, where the deployment's engine runs the servers.</summary>
    public ServerPool? Pool => pool;

    /// <summary>Whether <paramref name="slot"/> starts with the AppHost (one of the first <c>Servers</c>).</summary>
    public bool StartsWithAppHost(IResourceBuilder<ProjectResource> slot) => IndexOf(slot) < started;

    /// <summary>The ring name of the server in <paramref name="resource"/> (its resource name until /add names it).</summary>
    public string NameOf(string resource) => pool?.NameOf(resource) ?? resource;

    private int IndexOf(IResourceBuilder<ProjectResource> slot)
    {
        for (var i = 0; i < slots.Count; i++)
        {
            if (ReferenceEquals(slots[i], slot))
            {
                return i;
            }
        }

        throw new ArgumentException($"{slot.Resource.Name} is no pool slot.", nameof(slot));
    }

    /// <summary>Registers the pool's controller and API with the AppHost's services.</summary>
    public void Register(IServiceCollection services)
    {
        if (pool is null)
        {
            return;
        }

        var byName = slots.ToDictionary(slot => slot.Resource.Name, StringComparer.Ordinal);
        services.AddSingleton(pool);
        services.AddSingleton(sp => ActivatorUtilities.CreateInstance<ServerPoolController>(sp, (IReadOnlyDictionary<string, IResourceBuilder<ProjectResource>>)byName));
        services.AddHostedService(sp => sp.GetRequiredService<ServerPoolController>());
        services.AddSingleton<ProvisioningApi>();
        services.AddHostedService(sp => sp.GetRequiredService<ProvisioningApi>());
    }
}
