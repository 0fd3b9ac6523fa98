using LoadBalancer.ComposeGen.Compose;
using YamlDotNet.RepresentationModel;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Compose;

/// <summary>The committed docker-compose.yml stays what the AppHost's manifest derives.</summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class ComposeDriftTests
{
    [Fact]
    public async Task Committed_compose_file_matches_the_AppHost()
    {
        var differences = await AppHostManifest.DriftFromCommittedAsync();

        Assert.True(differences.Count == 0,
            "docker-compose.yml no longer matches the AppHost; run scripts/generate-compose.sh and commit the result.\n" +
            string.Join("\n", differences));
    }

    [Fact]
    public async Task Committed_provisioning_overlay_matches_the_AppHost()
    {
        var differences = await AppHostManifest.OverlayDriftFromCommittedAsync();

        Assert.True(differences.Count == 0,
            "docker-compose.provisioning.yml no longer matches the AppHost; run scripts/generate-compose.sh and commit the result.\n" +
            string.Join("\n", differences));
    }

    [Fact]
    public async Task A_server_added_in_the_AppHost_is_named_as_unlabelled_in_the_overlay_and_missing_from_the_second_proxy()
    {
        var differences = await AppHostManifest.OverlayDriftFromCommittedAsync("LoadBalancer:Servers=4");

        Assert.Contains(differences, d => d.StartsWith("services.server4: missing from the compose file", StringComparison.Ordinal));
        Assert.Contains(differences, d => d.StartsWith("services.proxy2.environment.services__server4__http__0: missing", StringComparison.Ordinal));
    }

    [Fact]
    public void The_overlay_gives_both_proxies_the_socket_and_the_engine_and_every_server_its_label()
    {
        var overlay = (YamlMappingNode)ComposeFile.Parse(File.ReadAllText(AppHostManifest.CommittedOverlayPath))["services"];
        var compose = (YamlMappingNode)ComposeFile.Parse(File.ReadAllText(AppHostManifest.CommittedComposePath))["services"];
        var servers = ((YamlMappingNode)compose["proxy"]["depends_on"]).Children.Keys.Select(k => ((YamlScalarNode)k).Value!).ToList();

        foreach (var proxy in new[] { "proxy", ProvisioningOverlay.SecondProxy })
        {
            Assert.Equal("Docker", ((YamlScalarNode)overlay[proxy]["environment"]["Provisioning__Engine"]).Value);
            Assert.Equal("/var/run/docker.sock:/var/run/docker.sock", ((YamlScalarNode)((YamlSequenceNode)overlay[proxy]["volumes"])[0]).Value);
        }

        Assert.Equal("127.0.0.1:${PROXY2_PORT:-5001}:8080", ((YamlScalarNode)((YamlSequenceNode)overlay["proxy2"]["ports"])[0]).Value);
        Assert.Equal(["server1", "server2", "server3"], servers);
        Assert.All(servers, server => Assert.Equal(server, ((YamlScalarNode)overlay[server]["labels"]["loadbalancer.server"]).Value));
    }

    [Fact]
    public async Task A_server_added_in_the_AppHost_is_named_as_missing_from_compose()
    {
        var servers = ServicesOf(ComposeFile.Parse(await File.ReadAllTextAsync(AppHostManifest.CommittedComposePath)))
            .Count(name => name.StartsWith("server", StringComparison.Ordinal));
        var added = $"server{servers + 1}";

        var differences = await AppHostManifest.DriftFromCommittedAsync($"LoadBalancer:Servers={servers + 1}");

        Assert.Contains(differences, d => d.StartsWith($"services.{added}: missing from the compose file", StringComparison.Ordinal));
        Assert.Contains(differences, d => d.StartsWith($"services.proxy.environment.services__{added}__http__0: missing", StringComparison.Ordinal));
        Assert.Contains(differences, d => d.StartsWith($"services.proxy.depends_on.{added}: missing", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_proxy_setting_added_in_the_AppHost_is_named()
    {
        var differences = await AppHostManifest.DriftFromCommittedAsync("Proxy:Balancing:Algorithm=Maglev");

        Assert.Equal(
            ["services.proxy.environment.Balancing__Algorithm: missing from the compose file (the AppHost has 'Maglev')"],
            differences);
    }

    [Fact]
    public async Task A_changed_proxy_variable_is_named()
    {
        var committed = ComposeFile.Parse(await File.ReadAllTextAsync(AppHostManifest.CommittedComposePath));
        var current = ((YamlScalarNode)committed["services"]["proxy"]["environment"]["Forwarding__ServerProtocol"]).Value;
        var other = current == "Http2" ? "Http1" : "Http2";

        // A setting under Proxy: wins over what the AppHost derives from LoadBalancer:ServerProtocol.
        var differences = await AppHostManifest.DriftFromCommittedAsync($"Proxy:Forwarding:ServerProtocol={other}");

        Assert.Equal(
            [$"services.proxy.environment.Forwarding__ServerProtocol: the compose file has '{current}', the AppHost gives '{other}'"],
            differences);
    }

    [Fact]
    public async Task A_changed_proxy_port_is_named()
    {
        var differences = await AppHostManifest.DriftFromCommittedAsync("LoadBalancer:ProxyPort=5099");

        Assert.Equal(
            ["services.proxy.ports[0]: the compose file has '127.0.0.1:${PROXY_PORT:-5000}:8080', the AppHost gives '127.0.0.1:${PROXY_PORT:-5099}:8080'"],
            differences);
    }

    [Fact]
    public async Task Every_service_builds_from_a_Dockerfile_that_exists()
    {
        var compose = ComposeFile.Parse(await File.ReadAllTextAsync(AppHostManifest.CommittedComposePath));
        var built = ((YamlMappingNode)compose["services"]).Children
            .Where(s => ((YamlMappingNode)s.Value).Children.ContainsKey("build"))
            .Select(s => ((YamlScalarNode)s.Value["build"]["dockerfile"]).Value!)
            .ToList();

        Assert.NotEmpty(built);
        Assert.All(built, dockerfile => Assert.True(
            File.Exists(Path.Combine(AppHostManifest.RepositoryRoot, dockerfile)), $"{dockerfile} does not exist"));
    }

    private static IEnumerable<string> ServicesOf(YamlNode compose) =>
        ((YamlMappingNode)compose["services"]).Children.Keys.Select(k => ((YamlScalarNode)k).Value!);
}
