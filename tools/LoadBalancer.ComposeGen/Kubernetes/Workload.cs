using System.Globalization;
using System.Text.RegularExpressions;
using LoadBalancer.ComposeGen.Manifest;

namespace LoadBalancer.ComposeGen.Kubernetes;

/// <summary>
/// One Kubernetes workload derived from the manifest's project resources: numbered resources of one project
/// (<c>server1</c>, <c>server2</c>, …) become one StatefulSet (<c>server</c>, its pods <c>server-0</c>, …, stable names
/// for the ring); any other project resource becomes a Deployment.
/// </summary>
/// <param name="Name">The workload's name: the resource name, or the numbered resources' common stem.</param>
/// <param name="Members">The manifest resources it stands for, in the AppHost's order (one for a Deployment).</param>
/// <param name="IsStatefulSet">Whether it is a StatefulSet of numbered resources.</param>
internal sealed partial record Workload(string Name, IReadOnlyList<ManifestResource> Members, bool IsStatefulSet)
{
    /// <summary>The first member: the one whose bindings and project every member shares.</summary>
    public ManifestResource Template => Members[0];

    /// <summary>The project's assembly name, e.g. <c>LoadBalancer.Server</c>.</summary>
    public string Project => Path.GetFileNameWithoutExtension(Template.ProjectPath!);

    /// <summary>The image the workload runs, named after its project as the Dockerfiles' comments build it: <c>loadbalancer-server</c>.</summary>
    public string Image => Project.Replace('.', '-').ToLowerInvariant();

    /// <summary>The number in a member's name (<c>server2</c> → 2), or null for a Deployment.</summary>
    public int? NumberOf(ManifestResource member) =>
        IsStatefulSet ? int.Parse(Numbered().Match(member.Name).Groups["number"].Value, CultureInfo.InvariantCulture) : null;

    /// <summary>Groups the manifest's project resources into workloads, in the order of each group's first resource.</summary>
    public static IReadOnlyList<Workload> From(AspireManifest manifest)
    {
        var projects = manifest.Resources.Where(r => r.Type == ManifestResource.ProjectType).ToList();
        var names = projects.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var project in projects.Where(p => p.ProjectPath is null))
        {
            throw new InvalidDataException($"Project resource '{project.Name}' has no 'path'.");
        }

        var workloads = new List<Workload>();
        var placed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var resource in projects.Where(r => !placed.Contains(r.Name)))
        {
            // A stem that is itself a resource's name (say 'api' beside 'api2') would collide: keep those apart.
            if (Numbered().Match(resource.Name) is { Success: true } match && !names.Contains(match.Groups["stem"].Value))
            {
                var stem = match.Groups["stem"].Value;
                var members = projects
                    .Where(p => p.ProjectPath == resource.ProjectPath && Numbered().Match(p.Name) is { Success: true } m && m.Groups["stem"].Value == stem)
                    .ToList();
                placed.UnionWith(members.Select(m => m.Name));
                workloads.Add(new Workload(stem, members, IsStatefulSet: true));
            }
            else
            {
                placed.Add(resource.Name);
                workloads.Add(new Workload(resource.Name, [resource], IsStatefulSet: false));
            }
        }

        return workloads;
    }

    [GeneratedRegex(@"^(?<stem>[a-z](?:[a-z0-9-]*[a-z])?)(?<number>[0-9]+)$")]
    private static partial Regex Numbered();
}
