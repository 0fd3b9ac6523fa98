using LoadBalancer.Tests.Infrastructure;
using System.Text;
using LoadBalancer.ComposeGen.Compose;
using LoadBalancer.ComposeGen.Kubernetes;
using LoadBalancer.ComposeGen.Manifest;
using YamlDotNet.RepresentationModel;

namespace LoadBalancer.Tests.Kubernetes;

/// <summary>The manifest → Kubernetes mapping on small hand-written manifests (workloads, environment, RBAC, refusals).</summary>
[Trait(TestCategories.Name, TestCategories.Unit)]
public sealed class KubernetesGeneratorTests
{
    private const string Servers = """
        "server1": { "type": "project.v0", "path": "server/LoadBalancer.Server.csproj",
          "env": { "HTTP_PORTS": "{server1.bindings.http.targetPort};{server1.bindings.h2c.targetPort}", "SERVER_ID": "1" },
          "bindings": { "http": { "scheme": "http" }, "h2c": { "scheme": "http", "transport": "http2" } } },
        "server2": { "type": "project.v0", "path": "server/LoadBalancer.Server.csproj",
          "env": { "HTTP_PORTS": "{server2.bindings.http.targetPort};{server2.bindings.h2c.targetPort}", "SERVER_ID": "2" },
          "bindings": { "http": { "scheme": "http" }, "h2c": { "scheme": "http", "transport": "http2" } } }
        """;

    private const string Proxy = """
        "admin-key": { "type": "parameter.v0", "value": "{admin-key.inputs.value}", "inputs": { "value": { "type": "string", "secret": true } } },
        "proxy": { "type": "project.v0", "path": "proxy/LoadBalancer.Proxy.csproj",
          "env": { "Admin__ApiKey": "{admin-key.value}", "Discovery__EndpointName": "h2c",
                   "services__server1__h2c__0": "{server1.bindings.h2c.url}", "services__server2__h2c__0": "{server2.bindings.h2c.url}" },
          "bindings": { "http": { "scheme": "http", "targetPort": 5000, "external": true } } }
        """;

    [Fact]
    public void Numbered_servers_become_one_StatefulSet_whose_pods_are_named_by_the_pod_name()
    {
        var model = Generate(Servers);

        var set = Yaml(model, "server/statefulset.yaml");
        Assert.Equal("StatefulSet", Scalar(set["kind"]));
        Assert.Equal("2", Scalar(set["spec"]["replicas"]));
        Assert.Equal("server", Scalar(set["spec"]["serviceName"]));
        var container = (YamlMappingNode)((YamlSequenceNode)set["spec"]["template"]["spec"]["containers"]).Children.Single();
        var serverId = ((YamlSequenceNode)container["env"]).Children.Single();
        Assert.Equal("SERVER_ID", Scalar(serverId["name"]));
        Assert.Equal("metadata.name", Scalar(serverId["valueFrom"]["fieldRef"]["fieldPath"]));
        Assert.Equal("/heartbeat", Scalar(container["readinessProbe"]["httpGet"]["path"]));
        Assert.Equal("/heartbeat", Scalar(container["livenessProbe"]["httpGet"]["path"]));
        Assert.Equal("http", Scalar(container["readinessProbe"]["httpGet"]["port"]));
        Assert.Equal("loadbalancer-server", Scalar(container["image"]));
        Assert.Contains("\"HTTP_PORTS=8080;8081\"", model.Files.Single(f => f.Path == "server/kustomization.yaml").Content, StringComparison.Ordinal);

        var service = Yaml(model, "server/service.yaml");
        Assert.Equal("None", Scalar(service["spec"]["clusterIP"]));
        Assert.Equal(["http:8080", "h2c:8081"],
            ((YamlSequenceNode)service["spec"]["ports"]).Children.Select(p => $"{Scalar(p["name"])}:{Scalar(p["port"])}"));
        Assert.DoesNotContain(model.Files, f => f.Path.StartsWith("server/role", StringComparison.Ordinal));
    }

    [Fact]
    public void The_proxy_pointed_at_the_servers_watches_them_through_the_API_with_a_namespaced_role_for_that_alone()
    {
        var model = Generate(Servers + "," + Proxy);

        var kustomization = model.Files.Single(f => f.Path == "proxy/kustomization.yaml").Content;
        Assert.DoesNotContain("services__", kustomization, StringComparison.Ordinal);
        Assert.Contains("\"Kubernetes__Enabled=true\"", kustomization, StringComparison.Ordinal);
        Assert.Contains("\"Provisioning__Engine=Kubernetes\"", kustomization, StringComparison.Ordinal);
        Assert.Contains("\"Kubernetes__StatefulSetName=server\"", kustomization, StringComparison.Ordinal);
        Assert.Contains("\"Kubernetes__ServiceName=server\"", kustomization, StringComparison.Ordinal);
        Assert.Contains("\"Discovery__EndpointName=h2c\"", kustomization, StringComparison.Ordinal);

        var role = Yaml(model, "proxy/role.yaml");
        Assert.Equal("Role", Scalar(role["kind"]));
        Assert.Equal(
            ["discovery.k8s.io endpointslices [] list,watch", "apps statefulsets/scale [server] get,patch"],
            ((YamlSequenceNode)role["rules"]).Children.Select(r =>
                $"{Join(r["apiGroups"])} {Join(r["resources"])} [{(((YamlMappingNode)r).Children.ContainsKey("resourceNames") ? Join(r["resourceNames"]) : "")}] {Join(r["verbs"])}"));
        Assert.DoesNotContain(model.Files, f => f.Content.Contains("ClusterRole", StringComparison.Ordinal));
        var binding = Yaml(model, "proxy/rolebinding.yaml");
        Assert.Equal("proxy", Scalar(((YamlSequenceNode)binding["subjects"]).Children.Single()["name"]));

        var deployment = Yaml(model, "proxy/deployment.yaml");
        Assert.Equal("2", Scalar(deployment["spec"]["replicas"]));
        Assert.Equal("proxy", Scalar(deployment["spec"]["template"]["spec"]["serviceAccountName"]));
        Assert.Equal("1", Scalar(Yaml(model, "proxy/poddisruptionbudget.yaml")["spec"]["minAvailable"]));
        var service = Yaml(model, "proxy/service.yaml");
        Assert.Equal("LoadBalancer", Scalar(service["spec"]["type"]));
        Assert.Equal("5000", Scalar(((YamlSequenceNode)service["spec"]["ports"]).Children.Single()["port"]));
    }

    [Fact]
    public void A_secret_parameter_is_read_from_a_generated_Secret_whose_file_the_user_writes()
    {
        var model = Generate(Servers + "," + Proxy);

        var container = ((YamlSequenceNode)Yaml(model, "proxy/deployment.yaml")["spec"]["template"]["spec"]["containers"]).Children.Single();
        var key = ((YamlSequenceNode)container["env"]).Children.Single();
        Assert.Equal("Admin__ApiKey", Scalar(key["name"]));
        Assert.Equal("admin-key", Scalar(key["valueFrom"]["secretKeyRef"]["name"]));
        Assert.Equal("ADMIN_KEY", Scalar(key["valueFrom"]["secretKeyRef"]["key"]));

        var generator = ((YamlSequenceNode)Yaml(model, "proxy/kustomization.yaml")["secretGenerator"]).Children.Single();
        Assert.Equal("admin-key.env", Scalar(((YamlSequenceNode)generator["envs"]).Children.Single()));
        var example = model.Files.Single(f => f.Path == "proxy/admin-key.env.example").Content;
        Assert.EndsWith("\nADMIN_KEY=\n", example, StringComparison.Ordinal);
        Assert.DoesNotContain(model.Files, f => f.Path.EndsWith(".env", StringComparison.Ordinal));
    }

    [Fact]
    public void Servers_whose_settings_differ_beyond_their_number_are_refused_naming_the_setting()
    {
        var error = Assert.Throws<NotSupportedException>(() => Generate("""
            "server1": { "type": "project.v0", "path": "s/S.csproj", "env": { "MODE": "a" }, "bindings": { "http": { "scheme": "http" } } },
            "server2": { "type": "project.v0", "path": "s/S.csproj", "env": { "MODE": "b" }, "bindings": { "http": { "scheme": "http" } } }
            """));

        Assert.Contains("'MODE' differs between the resources of 'server' (server1, server2)", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""
        "cache": { "type": "container.v0", "image": "redis" }
        """, "Resource 'cache' has type 'container.v0'")]
    [InlineData("""
        "key": { "type": "parameter.v0", "value": "{key.inputs.value}", "inputs": { "value": { "type": "string", "secret": true } } },
        "api": { "type": "project.v0", "path": "api/Api.csproj", "env": { "X": "Bearer {key.value}" }, "bindings": { "http": { "scheme": "http" } } }
        """, "a parameter without a literal default (a Secret) must be the whole value")]
    public void What_Kubernetes_output_cannot_express_is_refused_with_the_resource_named(string resources, string message)
    {
        var error = Assert.Throws<NotSupportedException>(() => Generate(resources));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_image_is_a_kustomize_images_entry()
    {
        var images = ((YamlSequenceNode)Yaml(Generate(Servers + "," + Proxy), "kustomization.yaml")["images"]).Children
            .Select(i => $"{Scalar(i["name"])}={Scalar(i["newName"])}:{Scalar(i["newTag"])}");

        Assert.Equal(
            ["loadbalancer-server=loadbalancer-server:latest", "loadbalancer-proxy=loadbalancer-proxy:latest",
             "aspire-dashboard=mcr.microsoft.com/dotnet/aspire-dashboard:13"],
            images);
    }

    private static KubernetesModel Generate(string resources)
    {
        using var json = new MemoryStream(Encoding.UTF8.GetBytes($$"""{ "resources": { {{resources}} } }"""));
        return KubernetesGenerator.Generate(AspireManifest.Parse(json, "/repo"));
    }

    private static YamlNode Yaml(KubernetesModel model, string path) => ComposeFile.Parse(model.Files.Single(f => f.Path == path).Content);

    private static string Join(YamlNode sequence) => string.Join(",", ((YamlSequenceNode)sequence).Children.Select(Scalar));

    private static string? Scalar(YamlNode node) => ((YamlScalarNode)node).Value;
}
