using System.Globalization;
using LoadBalancer.ComposeGen.Compose;
using LoadBalancer.ComposeGen.Manifest;

namespace LoadBalancer.ComposeGen.Kubernetes;

/// <summary>
/// A workload's environment on Kubernetes, translated from its manifest resources: plain values (the workload's
/// ConfigMap), parameters without a literal default (a Secret the user supplies), the member number of a StatefulSet
/// (the pod's name), and the StatefulSets whose endpoints the workload is pointed at (read from the Kubernetes API
/// instead: a fixed list of addresses would go stale when pods move or the set scales).
/// </summary>
/// <param name="Literals">Variables with a fixed value, in the AppHost's order.</param>
/// <param name="Secrets">Variables read from a parameter's Secret.</param>
/// <param name="PodNameVariables">Variables that hold each member's own number in the AppHost: the pod name here.</param>
/// <param name="Discovered">The StatefulSets whose endpoints the workload referenced.</param>
internal sealed record WorkloadEnvironment(
    IReadOnlyList<KeyValuePair<string, string>> Literals,
    IReadOnlyList<SecretVariable> Secrets,
    IReadOnlyList<string> PodNameVariables,
    IReadOnlyList<Workload> Discovered)
{
    /// <summary>Translates the environment of <paramref name="workload"/>; every member of a StatefulSet must agree.</summary>
    public static WorkloadEnvironment Of(Workload workload, IReadOnlyList<Workload> all, IReadOnlyDictionary<string, ManifestResource> resources)
    {
        var byMember = workload.Members
            .Select(member => member.Environment.Select(e => (e.Key, Value: Translate(e.Value, member, workload, all, resources))).ToList())
            .ToList();

        var literals = new List<KeyValuePair<string, string>>();
        var secrets = new List<SecretVariable>();
        var podNames = new List<string>();
        var discovered = new List<Workload>();
        var template = byMember[0];
        for (var i = 0; i < template.Count; i++)
        {
            var (key, value) = template[i];
            var values = byMember.Select(env => env.Count > i && env[i].Key == key ? env[i].Value : null).ToList();
            if (value.Literal is not null && workload.IsStatefulSet && values.Count > 1 &&
                values.Select((v, m) => v?.Literal == workload.NumberOf(workload.Members[m])!.Value.ToString(CultureInfo.InvariantCulture)).All(own => own))
            {
                // SERVER_ID=1, 2, …: each member's own number; a StatefulSet's pod is told its own name instead.
                podNames.Add(key);
                continue;
            }

            if (values.Any(v => v != value))
            {
                throw new NotSupportedException(
                    $"'{key}' differs between the resources of '{workload.Name}' ({string.Join(", ", workload.Members.Select(m => m.Name))}): " +
                    "a StatefulSet's pods share one template, so only a member's own number may differ (it becomes the pod's name).");
            }

            if (value.Discovers is { } set)
            {
                if (!discovered.Contains(set))
                {
                    discovered.Add(set);
                }
            }
            else if (value.SecretParameter is { } parameter)
            {
                secrets.Add(new SecretVariable(key, parameter, ManifestExpressions.VariableName(parameter)));
            }
            else
            {
                literals.Add(new(key, value.Literal!));
            }
        }

        return new WorkloadEnvironment(literals, secrets, podNames, discovered);
    }

    // What one manifest value becomes: a literal, a whole-value secret, or a pointer at a StatefulSet's endpoints.
    private sealed record Value(string? Literal, string? SecretParameter = null, Workload? Discovers = null);

    private static Value Translate(string value, ManifestResource owner, Workload workload, IReadOnlyList<Workload> all, IReadOnlyDictionary<string, ManifestResource> resources)
    {
        var parts = ManifestValue.Split(value).ToList();
        var text = new System.Text.StringBuilder();
        foreach (var part in parts)
        {
            if (part.Resource is null)
            {
                text.Append(part.Text);
                continue;
            }

            if (!resources.TryGetValue(part.Resource, out var target))
            {
                throw Unsupported(owner, part, $"no resource named '{part.Resource}' in the manifest");
            }

            var targetWorkload = all.FirstOrDefault(w => w.Members.Contains(target));
            if (target.Type == ManifestResource.ParameterType && part.Path == "value")
            {
                if (target.ParameterDefault is { } literal && !target.IsSecret)
                {
                    text.Append(literal);
                    continue;
                }

                return parts.Count == 1
                    ? new Value(null, SecretParameter: target.Name)
                    : throw Unsupported(owner, part, "a parameter without a literal default (a Secret) must be the whole value");
            }

            if (targetWorkload is { IsStatefulSet: true } set && set != workload && part.Path!.StartsWith("bindings.", StringComparison.Ordinal))
            {
                return parts.Count == 1
                    ? new Value(null, Discovers: set)
                    : throw Unsupported(owner, part, "an endpoint of a StatefulSet's pods must be the whole value");
            }

            text.Append(Endpoint(owner, part, target, self: targetWorkload == workload));
        }

        return new Value(text.ToString());
    }

    // A Deployment's endpoint through its Service (the name resolves in the namespace), or a container's own port.
    private static string Endpoint(ManifestResource owner, ManifestValue.Part part, ManifestResource target, bool self)
    {
        if (target.Type == ManifestResource.ProjectType && part.Path!.Split('.') is ["bindings", var endpoint, var property] &&
            target.Bindings.FirstOrDefault(b => b.Name == endpoint) is { } binding)
        {
            var containerPort = ComposeGenerator.ContainerPortOf(target, binding).ToString(CultureInfo.InvariantCulture);
            var port = self ? containerPort : KubernetesObjects.ServicePort(target, binding).ToString(CultureInfo.InvariantCulture);
            var host = self ? "localhost" : target.Name;
            return property switch
            {
                "url" => $"{binding.Scheme}://{host}:{port}",
                "host" => host,
                "port" => port,
                "targetPort" => containerPort,
                "scheme" => binding.Scheme,
                _ => throw Unsupported(owner, part, $"binding property '{property}' is not mapped"),
            };
        }

        throw Unsupported(owner, part, $"'{part.Path}' of a '{target.Type}' resource is not mapped");
    }

    private static NotSupportedException Unsupported(ManifestResource owner, ManifestValue.Part part, string why) =>
        new($"Resource '{owner.Name}': cannot translate '{part.Text}' to Kubernetes: {why}. " +
            "The Kubernetes output maps project endpoints and parameters only (see docs/kubernetes.md).");
}

/// <summary>A variable read from the Secret of an AppHost parameter (<c>Admin__ApiKey</c> from <c>admin-key</c>'s <c>ADMIN_KEY</c>).</summary>
internal sealed record SecretVariable(string Variable, string Parameter, string Key);
