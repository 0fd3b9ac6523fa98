using System.Text.RegularExpressions;
using Docker.DotNet.Models;

namespace LoadBalancer.Proxy.Docker;

/// <summary>
/// Which containers are a stack's servers, what each one's ring name and address is, and what a new one looks like:
/// the rules, without a Docker client, so that every proxy replica reading the same containers builds the same table.
/// </summary>
/// <remarks>
/// A server container carries the label <c>loadbalancer.server</c> with its ring name; it belongs to the stack named
/// by its <c>loadbalancer.group</c> label, or, on the servers compose defines (whose labels cannot name the project,
/// which compose knows only at run time), by compose's own project label. It is a member while it runs, its health
/// check says <c>healthy</c> and it is not draining (renamed with <see cref="DrainingSuffix"/>, which no ring name can end with, by a <c>/rm</c>: a
/// rename is the one change to a running container every watcher sees, so all replicas stop sending it requests
/// before it is stopped).
/// </remarks>
internal static partial class ServerContainers
{
    /// <summary>The label that makes a container a server: its ring name.</summary>
    public const string ServerLabel = DockerLabels.Server;

    /// <summary>The label naming the stack of a server the proxy created.</summary>
    public const string GroupLabel = DockerLabels.Group;

    /// <summary>The label compose puts on every container of a project.</summary>
    public const string ComposeProjectLabel = "com.docker.compose.project";

    /// <summary>The end of a draining server's container name.</summary>
    public const string DrainingSuffix = ".draining";

    /// <summary>The stack a container with <paramref name="labels"/> belongs to, if any.</summary>
    public static string? GroupOf(IDictionary<string, string>? labels) =>
        labels is null ? null
        : labels.TryGetValue(GroupLabel, out var group) && group.Length > 0 ? group
        : labels.TryGetValue(ComposeProjectLabel, out var project) && project.Length > 0 ? project
        : null;

    /// <summary>The ring name of a server of <paramref name="group"/>, or null for any other container.</summary>
    public static string? RingNameOf(IDictionary<string, string>? labels, string group) =>
        labels is not null && labels.TryGetValue(ServerLabel, out var name) && name.Length > 0 && GroupOf(labels) == group ? name : null;

    /// <summary>Whether a container of this name (with or without Docker's leading '/') is draining.</summary>
    public static bool IsDraining(IEnumerable<string>? names) =>
        names?.Any(name => name.EndsWith(DrainingSuffix, StringComparison.Ordinal)) == true;

    /// <summary>The container name of the server <paramref name="ring"/> of <paramref name="group"/>: unique per stack.</summary>
    public static string ContainerName(string group, string ring) => $"{group}-{ring}";

    /// <summary>Whether <paramref name="name"/> can be a container's hostname and network alias (a DNS label).</summary>
    public static bool IsValidName(string name) => DnsLabel().IsMatch(name);

    /// <summary>
    /// The members among <paramref name="healthy"/> (running containers whose health is <c>healthy</c>): ring name →
    /// address on <paramref name="network"/> (else the container's first network by name).
    /// </summary>
    /// <remarks>Two containers claiming one name: the lower container id wins, the same on every replica.</remarks>
    public static SortedDictionary<string, DockerMember> Members(IEnumerable<ContainerListResponse> healthy, string group, string? network, int httpPort, int h2cPort)
    {
        var members = new SortedDictionary<string, DockerMember>(StringComparer.Ordinal);
        foreach (var container in healthy.OrderBy(c => c.ID, StringComparer.Ordinal))
        {
            if (RingNameOf(container.Labels, group) is not { } name || IsDraining(container.Names) || members.ContainsKey(name) ||
                AddressOf(container.NetworkSettings?.Networks, network) is not { } ip)
            {
                continue;
            }

            members[name] = new DockerMember(
                name,
                container.ID,
                new UriBuilder(Uri.UriSchemeHttp, ip, httpPort).Uri,
                h2cPort > 0 ? new UriBuilder(Uri.UriSchemeHttp, ip, h2cPort).Uri : null);
        }

        return members;
    }

    /// <summary>
    /// <paramref name="count"/> ring names: <paramref name="asked"/>, then invented ones as the AppHost's pool invents
    /// them (the first <c>serverK</c> that no container of the stack and no other asked name has).
    /// </summary>
    public static List<string> Names(IReadOnlyCollection<string> inUse, IReadOnlyList<string> asked, int count)
    {
        var names = new List<string>(asked);
        for (var k = 1; names.Count < count; k++)
        {
            var name = $"server{k.ToString(System.Globalization.CultureInfo.InvariantCulture)}";
            if (!inUse.Contains(name) && !names.Contains(name))
            {
                names.Add(name);
            }
        }

        return names;
    }

    /// <summary>
    /// A new server like <paramref name="template"/> (another server of the stack): its image, command, environment,
    /// health check, restart policy and log settings, with its own ring name as hostname, network alias,
    /// <c>SERVER_ID</c> and <c>OTEL_SERVICE_NAME</c>, and the stack's labels in place of compose's.
    /// </summary>
    public static CreateContainerParameters Spec(ContainerInspectResponse template, string ring, string group, string network, string? image)
    {
        var config = template.Config;
        var env = (config.Env ?? []).Where(v => !v.StartsWith("SERVER_ID=", StringComparison.Ordinal) && !v.StartsWith("OTEL_SERVICE_NAME=", StringComparison.Ordinal)).ToList();
        env.Add($"SERVER_ID={ring}");
        env.Add($"OTEL_SERVICE_NAME={ring}");

        // The image's own labels come with the image; compose's would make compose take the container for one of its own.
        var labels = (config.Labels ?? new Dictionary<string, string>())
            .Where(label => !label.Key.StartsWith("com.docker.compose.", StringComparison.Ordinal) && label.Key is not (ServerLabel or GroupLabel))
            .ToDictionary(label => label.Key, label => label.Value, StringComparer.Ordinal);
        labels[ServerLabel] = ring;
        labels[GroupLabel] = group;

        return new CreateContainerParameters
        {
            Name = ContainerName(group, ring),
            Hostname = ring,
            Image = image is { Length: > 0 } ? image : template.Image,
            Cmd = config.Cmd,
            Entrypoint = config.Entrypoint,
            User = config.User,
            Env = env,
            Healthcheck = config.Healthcheck,
            Labels = labels,
            HostConfig = new HostConfig
            {
                NetworkMode = network,
                RestartPolicy = template.HostConfig?.RestartPolicy,
                LogConfig = template.HostConfig?.LogConfig,
            },
            NetworkingConfig = new NetworkingConfig
            {
                EndpointsConfig = new Dictionary<string, EndpointSettings> { [network] = new() { Aliases = [ring] } },
            },
        };
    }

    private static string? AddressOf(IDictionary<string, EndpointSettings>? networks, string? network)
    {
        if (networks is null || networks.Count == 0)
        {
            return null;
        }

        var endpoint = network is not null
            ? networks.TryGetValue(network, out var on) ? on : null
            : networks.OrderBy(n => n.Key, StringComparer.Ordinal).First().Value;
        return endpoint?.IPAddress is { Length: > 0 } ip ? ip : null;
    }

    [GeneratedRegex("^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$")]
    private static partial Regex DnsLabel();
}

/// <summary>A server container that is a member: its ring name, container id and endpoints.</summary>
internal sealed record DockerMember(string Name, string ContainerId, Uri Http, Uri? H2c);
