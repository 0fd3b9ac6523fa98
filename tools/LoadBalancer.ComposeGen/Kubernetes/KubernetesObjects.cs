using System.Globalization;
using LoadBalancer.AppHost;
using LoadBalancer.ComposeGen.Compose;
using LoadBalancer.ComposeGen.Manifest;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace LoadBalancer.ComposeGen.Kubernetes;

/// <summary>The Kubernetes objects of one workload, as YAML nodes: its pods, Service, PodDisruptionBudget and RBAC.</summary>
internal static class KubernetesObjects
{
    /// <summary>The label every object's selector matches on.</summary>
    public const string NameLabel = "app.kubernetes.io/name";

    /// <summary>
    /// The port a binding is reached on through its Service: the AppHost's port (an unproxied endpoint has only its
    /// target port, e.g. the proxy's 5000), as compose publishes it, else the container's.
    /// </summary>
    public static int ServicePort(ManifestResource resource, ManifestBinding binding) =>
        binding.Port ?? binding.TargetPort ?? ComposeGenerator.ContainerPortOf(resource, binding);

    /// <summary>
    /// The liveness path: the servers' heartbeat, as their readiness; the others answer <c>/alive</c> (ServiceDefaults),
    /// which, unlike the proxy's <c>/health</c>, does not fail when the servers do, so a proxy without servers is not
    /// restarted for it (the Dockerfile's HEALTHCHECK probes the same).
    /// </summary>
    public static string LivenessPath(string project) =>
        HealthCheckPaths.ForProject(project) == HealthCheckPaths.Server ? HealthCheckPaths.Server : "/alive";

    /// <summary>The pod template's container for <paramref name="workload"/>, its settings from ConfigMap <paramref name="configMap"/>.</summary>
    public static YamlMappingNode Container(Workload workload, WorkloadEnvironment environment, string configMap)
    {
        var env = new YamlSequenceNode();
        foreach (var variable in environment.PodNameVariables)
        {
            env.Add(FieldVariable(variable, "metadata.name"));
        }

        foreach (var secret in environment.Secrets)
        {
            env.Add(new YamlMappingNode
            {
                { "name", secret.Variable },
                { "valueFrom", new YamlMappingNode { { "secretKeyRef", new YamlMappingNode { { "name", secret.Parameter }, { "key", secret.Key } } } } },
            });
        }

        var ports = new YamlSequenceNode(workload.Template.Bindings.Select(b => (YamlNode)new YamlMappingNode
        {
            { "name", b.Name },
            { "containerPort", Number(ComposeGenerator.ContainerPortOf(workload.Template, b)) },
        }));
        var probePort = workload.Template.Bindings.FirstOrDefault(b => b.Name == "http")?.Name ?? workload.Template.Bindings.FirstOrDefault()?.Name
            ?? throw new NotSupportedException($"Resource '{workload.Template.Name}' has no endpoint to probe.");

        var container = new YamlMappingNode
        {
            { "name", workload.Name },
            { "image", workload.Image },
            { "imagePullPolicy", "IfNotPresent" },
            { "ports", ports },
            { "envFrom", new YamlSequenceNode(new YamlMappingNode { { "configMapRef", new YamlMappingNode { { "name", configMap } } } }) },
        };
        if (env.Children.Count > 0)
        {
            container.Add("env", env);
        }

        // As compose's healthcheck (every 10 s, 3 s to answer, 3 failures), from the same paths.
        container.Add("readinessProbe", Probe(HealthCheckPaths.ForProject(workload.Project), probePort, initialDelay: 0));
        container.Add("livenessProbe", Probe(LivenessPath(workload.Project), probePort, initialDelay: 15));
        container.Add("securityContext", new YamlMappingNode
        {
            { "allowPrivilegeEscalation", "false" },
            { "runAsNonRoot", "true" },
        });
        return container;
    }

    /// <summary>A Deployment or StatefulSet of <paramref name="replicas"/> pods running <paramref name="container"/>.</summary>
    public static YamlMappingNode Workload(Workload workload, YamlMappingNode container, int replicas, string? serviceAccount)
    {
        var podSpec = new YamlMappingNode();
        if (serviceAccount is null)
        {
            // Only the proxy talks to the Kubernetes API; other pods get no token to lose.
            podSpec.Add("automountServiceAccountToken", "false");
        }
        else
        {
            podSpec.Add("serviceAccountName", serviceAccount);
        }

        podSpec.Add("containers", new YamlSequenceNode(container));
        var spec = new YamlMappingNode { { "replicas", Number(replicas) } };
        if (workload.IsStatefulSet)
        {
            // The headless Service gives each pod its DNS name; pods start and stop in parallel, as the AppHost's do.
            spec.Add("serviceName", workload.Name);
            spec.Add("podManagementPolicy", "Parallel");
        }

        spec.Add("selector", new YamlMappingNode { { "matchLabels", Selector(workload.Name) } });
        spec.Add("template", new YamlMappingNode
        {
            { "metadata", new YamlMappingNode { { "labels", Labels(workload.Name) } } },
            { "spec", podSpec },
        });
        return Object("apps/v1", workload.IsStatefulSet ? "StatefulSet" : "Deployment", workload.Name, spec);
    }

    /// <summary>
    /// The Service in front of <paramref name="workload"/>: headless for a StatefulSet (its EndpointSlices list every pod,
    /// which the proxy watches), a LoadBalancer for a Deployment with an external endpoint, else a ClusterIP.
    /// </summary>
    public static YamlMappingNode Service(Workload workload)
    {
        var resource = workload.Template;
        var spec = new YamlMappingNode();
        if (workload.IsStatefulSet)
        {
            spec.Add("clusterIP", "None");
        }
        else if (resource.Bindings.Any(b => b.External))
        {
            spec.Add("type", "LoadBalancer");
        }

        spec.Add("selector", Selector(workload.Name));
        spec.Add("ports", new YamlSequenceNode(resource.Bindings.Select(b => (YamlNode)new YamlMappingNode
        {
            { "name", b.Name },
            { "port", Number(workload.IsStatefulSet ? ComposeGenerator.ContainerPortOf(resource, b) : ServicePort(resource, b)) },
            { "targetPort", b.Name },
        })));
        return Object("v1", "Service", workload.Name, spec);
    }

    /// <summary>Keeps one pod of a replicated Deployment up through node drains and other voluntary disruptions.</summary>
    public static YamlMappingNode DisruptionBudget(Workload workload) =>
        Object("policy/v1", "PodDisruptionBudget", workload.Name, new YamlMappingNode
        {
            { "minAvailable", Number(1) },
            { "selector", new YamlMappingNode { { "matchLabels", Selector(workload.Name) } } },
        });

    /// <summary>The ServiceAccount a workload that reads the Kubernetes API runs as.</summary>
    public static YamlMappingNode ServiceAccount(Workload workload) => Object("v1", "ServiceAccount", workload.Name, null);

    /// <summary>
    /// What the proxy's membership and scaling need and no more, in its namespace only: list and watch EndpointSlices
    /// (their names are generated, so they cannot be listed by name), and read and patch the scale of the named
    /// StatefulSets alone.
    /// </summary>
    public static YamlMappingNode Role(Workload workload, IReadOnlyList<Workload> discovered) =>
        Object("rbac.authorization.k8s.io/v1", "Role", workload.Name, null, new YamlSequenceNode(
            new YamlMappingNode
            {
                { "apiGroups", new YamlSequenceNode(Quoted("discovery.k8s.io")) },
                { "resources", new YamlSequenceNode("endpointslices") },
                { "verbs", new YamlSequenceNode("list", "watch") },
            },
            new YamlMappingNode
            {
                { "apiGroups", new YamlSequenceNode("apps") },
                { "resources", new YamlSequenceNode("statefulsets/scale") },
                { "resourceNames", new YamlSequenceNode(discovered.Select(d => (YamlNode)new YamlScalarNode(d.Name))) },
                { "verbs", new YamlSequenceNode("get", "patch") },
            }));

    /// <summary>
    /// Grants <see cref="Role"/> to the workload's ServiceAccount. The subject's namespace is left to the top-level
    /// kustomization's <c>namespace</c>, which kustomize writes there, so that changing it moves the grant along.
    /// </summary>
    public static YamlMappingNode RoleBinding(Workload workload)
    {
        var binding = Object("rbac.authorization.k8s.io/v1", "RoleBinding", workload.Name, null);
        binding.Add("roleRef", new YamlMappingNode
        {
            { "apiGroup", "rbac.authorization.k8s.io" },
            { "kind", "Role" },
            { "name", workload.Name },
        });
        binding.Add("subjects", new YamlSequenceNode(new YamlMappingNode
        {
            { "kind", "ServiceAccount" },
            { "name", workload.Name },
        }));
        return binding;
    }

    /// <summary>An object with <c>apiVersion</c>, <c>kind</c>, a named and labelled <c>metadata</c> and its spec (or rules).</summary>
    public static YamlMappingNode Object(string apiVersion, string kind, string name, YamlMappingNode? spec, YamlSequenceNode? rules = null)
    {
        var node = new YamlMappingNode
        {
            { "apiVersion", apiVersion },
            { "kind", kind },
            { "metadata", new YamlMappingNode { { "name", name }, { "labels", Labels(name) } } },
        };
        if (spec is not null)
        {
            node.Add("spec", spec);
        }

        if (rules is not null)
        {
            node.Add("rules", rules);
        }

        return node;
    }

    /// <summary>An environment variable taken from the pod's own field <paramref name="path"/>.</summary>
    public static YamlMappingNode FieldVariable(string name, string path) => new()
    {
        { "name", name },
        { "valueFrom", new YamlMappingNode { { "fieldRef", new YamlMappingNode { { "fieldPath", path } } } } },
    };

    public static YamlScalarNode Quoted(string value) => new(value) { Style = ScalarStyle.DoubleQuoted };

    public static YamlScalarNode Number(int value) => new(value.ToString(CultureInfo.InvariantCulture));

    private static YamlMappingNode Selector(string name) => new() { { NameLabel, name } };

    private static YamlMappingNode Labels(string name) => new()
    {
        { NameLabel, name },
        { "app.kubernetes.io/part-of", "loadbalancer" },
    };

    private static YamlMappingNode Probe(string path, string port, int initialDelay)
    {
        var probe = new YamlMappingNode
        {
            { "httpGet", new YamlMappingNode { { "path", path }, { "port", port } } },
        };
        if (initialDelay > 0)
        {
            probe.Add("initialDelaySeconds", Number(initialDelay));
        }

        probe.Add("periodSeconds", Number(10));
        probe.Add("timeoutSeconds", Number(3));
        probe.Add("failureThreshold", Number(3));
        return probe;
    }
}
