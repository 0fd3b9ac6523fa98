using LoadBalancer.Proxy.Docker;
using LoadBalancer.Proxy.Provisioning;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace LoadBalancer.ComposeGen.Compose;

/// <summary>
/// docker-compose.provisioning.yml, derived from the base compose document so that the two cannot drift: used as
/// <c>docker-compose -f docker-compose.yml -f docker-compose.provisioning.yml up</c>, it turns on Docker
/// provisioning (<c>Provisioning:Engine=Docker</c>): the proxy gets the Docker socket, the servers the proxy routes to
/// get the label that makes them the stack's servers, and a second proxy replica <c>proxy2</c> watches the same
/// engine (docs/deployment.md, "Elastic servers on Docker").
/// </summary>
public static class ProvisioningOverlay
{
    /// <summary>The overlay's file name, beside docker-compose.yml.</summary>
    public const string FileName = "docker-compose.provisioning.yml";

    /// <summary>The second proxy replica's service name.</summary>
    public const string SecondProxy = "proxy2";

    /// <summary>The compose variable that overrides the second replica's host port.</summary>
    public const string SecondProxyPortVariable = "PROXY2_PORT";

    /// <summary>The second replica's default host port (the first's is 5000).</summary>
    public const int SecondProxyPort = 5001;

    /// <summary>The Docker Engine API's socket, mounted at the same path in the proxy (Docker:Endpoint's default).</summary>
    public const string Socket = "/var/run/docker.sock";

    private const string Header =
        "# Generated with docker-compose.yml by tools/LoadBalancer.ComposeGen: do not edit by hand (scripts/generate-compose.sh).\n" +
        "# Opt-in elastic servers on Docker: docker-compose -f docker-compose.yml -f docker-compose.provisioning.yml up -d --build\n" +
        "# The proxies get the Docker socket, which is root on this host: see docs/deployment.md before using it.\n";

    /// <summary>The overlay for <paramref name="compose"/> (the base document ComposeGenerator derives).</summary>
    public static YamlMappingNode Generate(ComposeModel compose)
    {
        var baseServices = (YamlMappingNode)compose.Document["services"];
        var proxy = (YamlMappingNode)baseServices["proxy"];
        var servers = proxy.Children.TryGetValue("depends_on", out var dependsOn)
            ? ((YamlMappingNode)dependsOn).Children.Keys.Select(k => ((YamlScalarNode)k).Value!).ToList()
            : [];

        var services = new YamlMappingNode { { "proxy", ProxyAdditions() } };

        // The second replica: the first one whole (a service of its own cannot merge into another), plus the same
        // additions, its own name and host port.
        var second = (YamlMappingNode)ComposeFile.Parse(ComposeFile.ToYaml(proxy, ""));
        foreach (var (key, value) in ProxyAdditions().Children)
        {
            if (key is YamlScalarNode { Value: "environment" })
            {
                foreach (var (name, setting) in ((YamlMappingNode)value).Children)
                {
                    ((YamlMappingNode)second["environment"]).Children[name] = setting;
                }
            }
            else
            {
                second.Children[key] = value;
            }
        }

        ((YamlMappingNode)second["environment"]).Children[new YamlScalarNode("OTEL_SERVICE_NAME")] = Quoted(SecondProxy);
        second.Children[new YamlScalarNode("ports")] = new YamlSequenceNode(Quoted($"127.0.0.1:${{{SecondProxyPortVariable}:-{SecondProxyPort}}}:{ComposeGenerator.ContainerPort}"));
        services.Add(SecondProxy, second);

        foreach (var server in servers)
        {
            services.Add(server, new YamlMappingNode { { "labels", new YamlMappingNode { { DockerLabels.Server, Quoted(server) } } } });
        }

        return new YamlMappingNode { { "services", services } };
    }

    /// <summary>The overlay's text.</summary>
    public static string ToYaml(ComposeModel compose) => ComposeFile.ToYaml(Generate(compose), Header);

    // Root in the container, because the socket is root:docker 0660 and the docker group's id differs from host to
    // host; with the socket the proxy is root on the host anyway (docs/deployment.md says so).
    private static YamlMappingNode ProxyAdditions() => new()
    {
        { "user", Quoted("root") },
        { "volumes", new YamlSequenceNode(Quoted($"{Socket}:{Socket}")) },
        { "environment", new YamlMappingNode { { $"{ProvisioningOptions.SectionName}__{nameof(ProvisioningOptions.Engine)}", Quoted(nameof(ProvisioningEngine.Docker)) } } },
    };

    private static YamlScalarNode Quoted(string value) => new(value) { Style = ScalarStyle.DoubleQuoted };
}
