using System.Globalization;
using LoadBalancer.ComposeGen.Compose;
using LoadBalancer.ComposeGen.Manifest;
using YamlDotNet.RepresentationModel;

namespace LoadBalancer.ComposeGen.Kubernetes;

/// <summary>
/// Derives Kubernetes manifests from the AppHost's manifest, in aspirate's kustomize layout: a folder per workload
/// (its objects, a <c>kustomization.yaml</c> with its ConfigMap and Secret generators) and a top-level
/// <c>kustomization.yaml</c> with the namespace and every image, for <c>kubectl apply -k</c>. Numbered project resources
/// become a StatefulSet behind a headless Service; a workload pointed at them gets, instead of their fixed addresses,
/// the proxy's Kubernetes membership settings and the RBAC it needs; the dashboard receives everyone's OTLP, as in compose.
/// </summary>
public static class KubernetesGenerator
{
    /// <summary>The namespace everything is deployed to (change it with <c>kustomize edit set namespace</c>).</summary>
    public const string Namespace = "loadbalancer";

    /// <summary>Replicas of each Deployment: two, so that a rollout or a node drain always leaves one serving.</summary>
    public const int DeploymentReplicas = 2;

    /// <summary>The tag the project's own images are built with (see docs/kubernetes.md).</summary>
    public const string ImageTag = "latest";

    /// <summary>Builds the folder's files for <paramref name="manifest"/>.</summary>
    public static KubernetesModel Generate(AspireManifest manifest)
    {
        foreach (var resource in manifest.Resources.Where(r => r.Type is not (ManifestResource.ProjectType or ManifestResource.ParameterType)))
        {
            throw new NotSupportedException(
                $"Resource '{resource.Name}' has type '{resource.Type}', which the Kubernetes output does not map " +
                "(project and parameter resources only; see docs/kubernetes.md).");
        }

        var resources = manifest.Resources.ToDictionary(r => r.Name, StringComparer.Ordinal);
        var workloads = Workload.From(manifest);
        var files = new List<KubernetesFile>();
        var images = new YamlSequenceNode();
        foreach (var workload in workloads)
        {
            files.AddRange(Folder(workload, WorkloadEnvironment.Of(workload, workloads, resources), resources));
            images.Add(Image(workload.Image, workload.Image, ImageTag));
        }

        files.AddRange(Dashboard());
        var (dashboardImage, dashboardTag) = SplitImage(ComposeGenerator.DashboardImage);
        images.Add(Image(ComposeGenerator.DashboardService, dashboardImage, dashboardTag));

        files.Add(KubernetesFile.Yaml("namespace.yaml", new YamlMappingNode
        {
            { "apiVersion", "v1" },
            { "kind", "Namespace" },
            { "metadata", new YamlMappingNode { { "name", Namespace } } },
        }));
        var top = Kustomization(["namespace.yaml", .. workloads.Select(w => w.Name), ComposeGenerator.DashboardService], Namespace);
        top.Add("images", images);
        files.Add(KubernetesFile.Yaml("kustomization.yaml", top));
        return new KubernetesModel(files.OrderBy(f => f.Path, StringComparer.Ordinal).ToList());
    }

    private static IEnumerable<KubernetesFile> Folder(Workload workload, WorkloadEnvironment environment, IReadOnlyDictionary<string, ManifestResource> resources)
    {
        if (environment.Discovered.Count > 1)
        {
            throw new NotSupportedException(
                $"Resource '{workload.Name}' references the endpoints of {environment.Discovered.Count} StatefulSets " +
                $"({string.Join(", ", environment.Discovered.Select(d => d.Name))}); the proxy's Kubernetes membership watches one Service.");
        }

        var name = workload.Name;
        var objects = new List<(string File, YamlMappingNode Node)>();
        var discovers = environment.Discovered.Count > 0;
        var configMap = $"{name}-env";
        var container = KubernetesObjects.Container(workload, environment, configMap);
        var replicas = workload.IsStatefulSet ? workload.Members.Count : DeploymentReplicas;
        objects.Add((workload.IsStatefulSet ? "statefulset.yaml" : "deployment.yaml",
            KubernetesObjects.Workload(workload, container, replicas, discovers ? name : null)));
        objects.Add(("service.yaml", KubernetesObjects.Service(workload)));
        if (!workload.IsStatefulSet)
        {
            objects.Add(("poddisruptionbudget.yaml", KubernetesObjects.DisruptionBudget(workload)));
        }

        if (discovers)
        {
            objects.Add(("serviceaccount.yaml", KubernetesObjects.ServiceAccount(workload)));
            objects.Add(("role.yaml", KubernetesObjects.Role(workload, environment.Discovered)));
            objects.Add(("rolebinding.yaml", KubernetesObjects.RoleBinding(workload)));
        }

        var literals = environment.Literals.ToList();
        if (discovers)
        {
            // The proxy's own settings (docs/configuration.md, Kubernetes): members are the ready pods of the set's
            // headless Service, read from the API, rather than the AppHost's fixed list of addresses.
            literals.Add(new("Kubernetes__Enabled", "true"));
            literals.Add(new("Kubernetes__ServiceName", environment.Discovered[0].Name));

            // /add and /rm scale the servers' StatefulSet (named as its Service), through the Role's statefulsets/scale.
            literals.Add(new("Provisioning__Engine", "Kubernetes"));
            literals.Add(new("Kubernetes__StatefulSetName", environment.Discovered[0].Name));
        }

        literals.Add(new("OTEL_EXPORTER_OTLP_ENDPOINT", string.Create(CultureInfo.InvariantCulture, $"http://{ComposeGenerator.DashboardService}:{ComposeGenerator.DashboardOtlpPort}")));
        literals.Add(new("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"));
        literals.Add(new("OTEL_SERVICE_NAME", name));

        var kustomization = Kustomization(objects.Select(o => o.File));
        kustomization.Add("configMapGenerator", new YamlSequenceNode(new YamlMappingNode
        {
            { "name", configMap },
            { "literals", new YamlSequenceNode(literals.Select(l => (YamlNode)KubernetesObjects.Quoted($"{l.Key}={l.Value}"))) },
        }));

        var parameters = environment.Secrets.Select(s => s.Parameter).Distinct(StringComparer.Ordinal).ToList();
        if (parameters.Count > 0)
        {
            kustomization.Add("secretGenerator", new YamlSequenceNode(parameters.Select(p => (YamlNode)new YamlMappingNode
            {
                { "name", p },
                { "envs", new YamlSequenceNode($"{p}.env") },
            })));
        }

        foreach (var (file, node) in objects)
        {
            yield return KubernetesFile.Yaml($"{name}/{file}", node);
        }

        yield return KubernetesFile.Yaml($"{name}/kustomization.yaml", kustomization);
        foreach (var parameter in parameters)
        {
            yield return KubernetesFile.Text($"{name}/{parameter}.env.example", SecretTemplate(name, resources[parameter], environment.Secrets));
        }
    }

    // The file a user copies to <parameter>.env: kustomize's secretGenerator reads the key from it. Never committed.
    private static string SecretTemplate(string folder, ManifestResource parameter, IEnumerable<SecretVariable> secrets)
    {
        var key = secrets.First(s => s.Parameter == parameter.Name).Key;
        return $"# The Secret '{parameter.Name}' (AppHost parameter '{parameter.Name}'{(parameter.IsSecret ? ", secret" : "")}), read by kustomize's secretGenerator.\n" +
            $"# Copy to {parameter.Name}.env beside this file (it is git-ignored: never commit it) and fill in, e.g.\n" +
            $"#   echo \"{key}=$(openssl rand -hex 32)\" > deploy/kubernetes/{folder}/{parameter.Name}.env\n" +
            $"{key}=\n";
    }

    // The dashboard, as in compose: OTLP from every pod, its UI reached with kubectl port-forward (no login token).
    private static IEnumerable<KubernetesFile> Dashboard()
    {
        const string name = ComposeGenerator.DashboardService;
        var container = new YamlMappingNode
        {
            { "name", name },
            { "image", name },
            { "imagePullPolicy", "IfNotPresent" },
            {
                "ports", new YamlSequenceNode(
                    new YamlMappingNode { { "name", "ui" }, { "containerPort", KubernetesObjects.Number(ComposeGenerator.DashboardUiPort) } },
                    new YamlMappingNode { { "name", "otlp-grpc" }, { "containerPort", KubernetesObjects.Number(ComposeGenerator.DashboardOtlpPort) } })
            },
            {
                "env", new YamlSequenceNode(new YamlMappingNode
                {
                    { "name", "DOTNET_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS" },
                    { "value", KubernetesObjects.Quoted("true") },
                })
            },
        };
        var deployment = KubernetesObjects.Object("apps/v1", "Deployment", name, new YamlMappingNode
        {
            { "replicas", KubernetesObjects.Number(1) },
            { "selector", new YamlMappingNode { { "matchLabels", new YamlMappingNode { { KubernetesObjects.NameLabel, name } } } } },
            {
                "template", new YamlMappingNode
                {
                    { "metadata", new YamlMappingNode { { "labels", new YamlMappingNode { { KubernetesObjects.NameLabel, name } } } } },
                    { "spec", new YamlMappingNode { { "automountServiceAccountToken", "false" }, { "containers", new YamlSequenceNode(container) } } },
                }
            },
        });
        var service = KubernetesObjects.Object("v1", "Service", name, new YamlMappingNode
        {
            { "selector", new YamlMappingNode { { KubernetesObjects.NameLabel, name } } },
            {
                "ports", new YamlSequenceNode(
                    new YamlMappingNode { { "name", "ui" }, { "port", KubernetesObjects.Number(ComposeGenerator.DashboardUiPort) }, { "targetPort", "ui" } },
                    new YamlMappingNode { { "name", "otlp-grpc" }, { "port", KubernetesObjects.Number(ComposeGenerator.DashboardOtlpPort) }, { "targetPort", "otlp-grpc" } })
            },
        });
        yield return KubernetesFile.Yaml($"{name}/deployment.yaml", deployment);
        yield return KubernetesFile.Yaml($"{name}/service.yaml", service);
        yield return KubernetesFile.Yaml($"{name}/kustomization.yaml", Kustomization(["deployment.yaml", "service.yaml"]));
    }

    private static YamlMappingNode Kustomization(IEnumerable<string> resources, string? @namespace = null)
    {
        var kustomization = new YamlMappingNode
        {
            { "apiVersion", "kustomize.config.k8s.io/v1beta1" },
            { "kind", "Kustomization" },
        };
        if (@namespace is not null)
        {
            kustomization.Add("namespace", @namespace);
        }

        kustomization.Add("resources", new YamlSequenceNode(resources.Select(r => (YamlNode)new YamlScalarNode(r))));
        return kustomization;
    }

    // An images entry: the name the manifests use, the image and tag a user points at their registry.
    private static YamlMappingNode Image(string name, string newName, string tag) => new()
    {
        { "name", name },
        { "newName", newName },
        { "newTag", KubernetesObjects.Quoted(tag) },
    };

    private static (string Name, string Tag) SplitImage(string image)
    {
        var colon = image.LastIndexOf(':');
        return colon > image.LastIndexOf('/') ? (image[..colon], image[(colon + 1)..]) : (image, "latest");
    }
}
