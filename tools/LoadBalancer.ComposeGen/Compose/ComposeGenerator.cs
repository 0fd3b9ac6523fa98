using System.Globalization;
using LoadBalancer.AppHost;
using LoadBalancer.ComposeGen.Manifest;
using LoadBalancer.Proxy.Admin;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace LoadBalancer.ComposeGen.Compose;

/// <summary>
/// Derives the compose document from the AppHost's manifest: each project resource becomes a service built from the
/// Dockerfile beside its project, with the manifest's environment translated to the compose network, its references
/// as health-gated <c>depends_on</c>, its external endpoints published, plus the standalone Aspire dashboard that
/// receives every service's OTLP telemetry.
/// </summary>
public static class ComposeGenerator
{
    /// <summary>The port a service's first endpoint listens on inside its container (the aspnet image's default).</summary>
    public const int ContainerPort = 8080;

    /// <summary>
    /// The port <paramref name="binding"/> listens on inside the container: the first endpoint 8080, the next 8081 and
    /// so on, in the manifest's order (a server's <c>http</c>, then its <c>h2c</c>).
    /// </summary>
    public static int ContainerPortOf(ManifestResource resource, ManifestBinding binding)
    {
        for (var i = 0; i < resource.Bindings.Count; i++)
        {
            if (ReferenceEquals(resource.Bindings[i], binding))
            {
                return ContainerPort + i;
            }
        }

        throw new ArgumentException($"'{binding.Name}' is not a binding of '{resource.Name}'.", nameof(binding));
    }

    /// <summary>The dashboard's service name; also its host name for OTLP.</summary>
    public const string DashboardService = "aspire-dashboard";

    /// <summary>The standalone dashboard image (floating major tag of the Aspire generation we build with).</summary>
    public const string DashboardImage = "mcr.microsoft.com/dotnet/aspire-dashboard:13";

    /// <summary>The dashboard's browser UI port.</summary>
    public const int DashboardUiPort = 18888;

    /// <summary>The compose variable that overrides the dashboard's host port.</summary>
    public const string DashboardPortVariable = "DASHBOARD_PORT";

    /// <summary>The dashboard's OTLP/gRPC port.</summary>
    public const int DashboardOtlpPort = 18889;

    /// <summary>The probe script both Dockerfiles install (see docker/healthcheck.sh).</summary>
    public const string HealthCheckScript = "/usr/local/bin/healthcheck.sh";

    /// <summary>Builds the compose document for <paramref name="manifest"/>.</summary>
    /// <param name="manifest">The AppHost's manifest.</param>
    /// <param name="repositoryRoot">The build context: Dockerfile paths are written relative to it.</param>
    public static ComposeModel Generate(AspireManifest manifest, string repositoryRoot)
    {
        var byName = manifest.Resources.ToDictionary(r => r.Name, StringComparer.Ordinal);
        var expressions = new ManifestExpressions(byName);
        var services = new YamlMappingNode();
        var parameters = new SortedSet<string>(StringComparer.Ordinal);
        var notes = new Dictionary<string, string>(StringComparer.Ordinal);

        foreach (var resource in manifest.Resources)
        {
            switch (resource.Type)
            {
                case ManifestResource.ProjectType:
                    services.Add(resource.Name, Service(resource, repositoryRoot, expressions, parameters, notes));
                    break;
                case ManifestResource.ParameterType:
                    // Parameters are not services: they become compose variables where they are used.
                    break;
                default:
                    throw new NotSupportedException(
                        $"Resource '{resource.Name}' has type '{resource.Type}', which ComposeGen does not map " +
                        "(project and parameter resources only; see the Plain Docker section of README.md).");
            }
        }

        services.Add(DashboardService, Dashboard());
        var variables = parameters
            .Select(name => new ComposeVariable(
                ManifestExpressions.VariableName(name), name, byName[name].ParameterDefault, byName[name].IsSecret, notes.GetValueOrDefault(name)))
            .ToList();
        return new ComposeModel(new YamlMappingNode { { "services", services } }, variables);
    }

    private static YamlMappingNode Service(
        ManifestResource resource, string repositoryRoot, ManifestExpressions expressions, ISet<string> parameters,
        IDictionary<string, string> notes)
    {
        if (resource.ProjectPath is null)
        {
            throw new InvalidDataException($"Project resource '{resource.Name}' has no 'path'.");
        }

        var project = Path.GetFileNameWithoutExtension(resource.ProjectPath);
        var dockerfile = Path.GetRelativePath(repositoryRoot, Path.Combine(Path.GetDirectoryName(resource.ProjectPath)!, "Dockerfile"))
            .Replace('\\', '/');

        var references = new List<string>();
        var referenced = new HashSet<string>(StringComparer.Ordinal);
        var environment = new YamlMappingNode();
        foreach (var (name, value) in resource.Environment)
        {
            var found = new HashSet<string>(StringComparer.Ordinal);
            var used = new HashSet<string>(StringComparer.Ordinal);
            environment.Add(name, Quoted(expressions.Translate(value, resource.Name, found, used)));
            foreach (var parameter in used)
            {
                parameters.Add(parameter);
                if (NoteFor(name) is { } note)
                {
                    notes[parameter] = note;
                }
            }

            // Keep the AppHost's order (server1, server2, …) rather than a set's.
            references.AddRange(found.Where(referenced.Add));
        }

        environment.Add("OTEL_EXPORTER_OTLP_ENDPOINT", Quoted($"http://{DashboardService}:{DashboardOtlpPort}"));
        environment.Add("OTEL_EXPORTER_OTLP_PROTOCOL", Quoted("grpc"));
        environment.Add("OTEL_SERVICE_NAME", Quoted(resource.Name));

        var service = new YamlMappingNode
        {
            { "build", new YamlMappingNode { { "context", "." }, { "dockerfile", dockerfile } } },
            { "environment", environment },
        };

        var published = resource.Bindings.Where(b => b.External).Select(b => PortMapping(resource, b)).ToList();
        if (published.Count > 0)
        {
            service.Add("ports", new YamlSequenceNode(published));
        }

        if (references.Count > 0)
        {
            // As the AppHost's WaitFor: the proxy starts once its servers answer their health checks.
            var dependsOn = new YamlMappingNode();
            foreach (var reference in references)
            {
                dependsOn.Add(reference, new YamlMappingNode { { "condition", "service_healthy" } });
            }

            service.Add("depends_on", dependsOn);
        }

        service.Add("healthcheck", HealthCheck(HealthCheckPaths.ForProject(project)));
        service.Add("restart", "unless-stopped");
        return service;
    }

    /// <summary>
    /// The compose variable that overrides the host port of <paramref name="binding"/>: <c>PROXY_PORT</c> for the
    /// proxy's first endpoint, <c>PROXY_H2C_PORT</c> for a second one named h2c.
    /// </summary>
    public static string PortVariable(ManifestResource resource, ManifestBinding binding) =>
        ManifestExpressions.VariableName(ContainerPortOf(resource, binding) == ContainerPort
            ? $"{resource.Name}-port"
            : $"{resource.Name}-{binding.Name}-port");

    // Published on the host's loopback only, the port overridable (the stack can run beside something on 5000); by
    // default the binding's port, else its target port (an unproxied endpoint has only that), else a random one.
    private static YamlScalarNode PortMapping(ManifestResource resource, ManifestBinding binding) =>
        LoopbackPort(PortVariable(resource, binding), binding.Port ?? binding.TargetPort, ContainerPortOf(resource, binding));

    private static YamlScalarNode LoopbackPort(string variable, int? host, int containerPort) =>
        Quoted(string.Create(CultureInfo.InvariantCulture, $"127.0.0.1:${{{variable}:-{host}}}:{containerPort}"));

    // What .env.example says of a parameter beside its name, by the setting it feeds: the proxy refuses a short admin
    // key at start, which under compose's restart policy is a crash loop.
    private static string? NoteFor(string environmentVariable) =>
        environmentVariable == $"{AdminOptions.SectionName}__{nameof(AdminOptions.ApiKey)}"
            ? $"at least {AdminOptions.MinimumKeyLength} characters, no spaces (the proxy refuses a shorter key and stops)"
            : null;

    private static YamlMappingNode HealthCheck(string path) => new()
    {
        { "test", new YamlSequenceNode(Quoted("CMD"), Quoted("bash"), Quoted(HealthCheckScript), Quoted(path)) },
        { "interval", "10s" },
        { "timeout", "3s" },
        { "retries", "3" },
        { "start_period", "15s" },
    };

    private static YamlMappingNode Dashboard() => new()
    {
        { "image", DashboardImage },
        {
            "environment", new YamlMappingNode
            {
                // Local use: no login token. The UI is published on 127.0.0.1 only.
                { "DOTNET_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS", Quoted("true") },
            }
        },
        // The browser UI and the telemetry API (/api/telemetry/…) share this port.
        { "ports", new YamlSequenceNode(LoopbackPort(DashboardPortVariable, DashboardUiPort, DashboardUiPort)) },
        { "expose", new YamlSequenceNode(Quoted(DashboardOtlpPort.ToString(CultureInfo.InvariantCulture))) },
        { "restart", "unless-stopped" },
    };

    private static YamlScalarNode Quoted(string value) => new(value) { Style = ScalarStyle.DoubleQuoted };
}

/// <summary>The derived compose document and the variables it reads (one per AppHost parameter).</summary>
public sealed record ComposeModel(YamlMappingNode Document, IReadOnlyList<ComposeVariable> Variables);

/// <summary>A compose variable standing for an AppHost parameter, e.g. <c>ADMIN_KEY</c> for <c>admin-key</c>.</summary>
/// <remarks><c>Note</c>: what the value must be, where the setting it feeds has a rule (the admin key's length).</remarks>
public sealed record ComposeVariable(string Name, string Parameter, string? Default, bool IsSecret, string? Note = null);
