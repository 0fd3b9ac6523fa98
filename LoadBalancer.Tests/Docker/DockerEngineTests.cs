using System.Text.Json;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.Extensions.Options;
using static LoadBalancer.Tests.Admin.AdminCalls;

namespace LoadBalancer.Tests.Docker;

/// <summary>
/// The proxy with Provisioning:Engine=Docker against a fake Docker Engine API on 127.0.0.1 (<see cref="FakeDockerEngine"/>):
/// membership is the stack's healthy labelled containers, followed through the event stream; /add creates containers
/// copied from a compose-defined server and rolls back what does not turn healthy; /rm drains then removes; a lost
/// engine keeps the membership and says Degraded.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class DockerEngineTests
{
    private const int Ids = 300;

    [Fact]
    public async Task Add_copies_a_compose_server_rm_drains_and_removes_and_two_replicas_agree_throughout()
    {
        await using var server = await TestHost.StartServerAsync("shared");
        await using var engine = await FakeDockerEngine.StartAsync();
        engine.AddComposeServer("server1");
        engine.AddComposeServer("server2");
        engine.AddComposeServer("server9", healthy: false);    // running, not healthy: not a member
        engine.AddComposeServer("server1", project: "other"); // another stack's server on the same engine
        await using var first = await TestHost.StartProxyAsync([], engine.ProxySettings(server));
        await using var second = await TestHost.StartProxyAsync([], engine.ProxySettings(server));
        using var one = first.CreateClient();
        using var two = second.CreateClient();
        AssertJson(Replicas("server1", "server2"), (await SendAsync(two, Rep(Key))).Body);

        var (status, body) = await SendAsync(one, Add("""{"n":2,"hostnames":["S5","S4"]}""", Key));

        Assert.Equal(HttpStatusCode.OK, status);
        AssertJson(Replicas("S4", "S5", "server1", "server2"), body);
        var s5 = engine.Containers()[$"{FakeDockerEngine.Group}-S5"];
        var created = s5.Created!;
        Assert.Equal("S5", (string)created["Hostname"]!);
        Assert.Equal(["S5"], s5.Aliases);
        Assert.Equal(FakeDockerEngine.Network, s5.NetworkName);
        Assert.Equal(FakeDockerEngine.ServerImage, s5.Image);
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["loadbalancer.server"] = "S5",
                ["loadbalancer.group"] = FakeDockerEngine.Group,
                ["org.opencontainers.image.title"] = "server",
            },
            s5.Labels());
        Assert.Equal("S5", s5.Env("SERVER_ID"));
        Assert.Equal("S5", s5.Env("OTEL_SERVICE_NAME"));
        Assert.Equal("8080;8081", s5.Env("HTTP_PORTS"));
        Assert.Equal(
            """{"Test":["CMD","bash","/usr/local/bin/healthcheck.sh","/heartbeat"],"Interval":10000000000,"Timeout":3000000000,"StartPeriod":15000000000,"Retries":3}""",
            Normalized(created["Healthcheck"]!));
        Assert.Equal("unless-stopped", (string)created["HostConfig"]!["RestartPolicy"]!["Name"]!);
        var added = await Owners.AgreeAsync(one, two, "", Ids);
        Assert.Contains("S5", added);

        (status, body) = await SendAsync(two, Remove("""{"n":1,"hostnames":["S5"]}""", Key));

        Assert.Equal(HttpStatusCode.OK, status);
        AssertJson(Replicas("S4", "server1", "server2"), body);
        Assert.DoesNotContain(engine.Containers().Keys, name => name.Contains("-S5", StringComparison.Ordinal));
        // Off every replica's list (the rename) before it is stopped.
        Assert.Equal(
            [$"rename {FakeDockerEngine.Group}-S5", $"stop {FakeDockerEngine.Group}-S5.draining", $"remove {FakeDockerEngine.Group}-S5.draining"],
            engine.Calls.Where(call => call.Contains("-S5", StringComparison.Ordinal) && !call.StartsWith("create", StringComparison.Ordinal) && !call.StartsWith("start", StringComparison.Ordinal)));
        Assert.DoesNotContain("S5", await Owners.AgreeAsync(one, two, "", Ids));

        // n above the names: invented as the AppHost's pool does, skipping the names containers have (server9's too).
        (status, body) = await SendAsync(one, Add("""{"n":1}""", Key));
        Assert.Equal(HttpStatusCode.OK, status);
        AssertJson(Replicas("S4", "server1", "server2", "server3"), body);
    }

    [Fact]
    public async Task An_add_whose_containers_never_turn_healthy_fails_within_its_timeout_and_removes_all_it_created()
    {
        await using var server = await TestHost.StartServerAsync("shared");
        await using var engine = await FakeDockerEngine.StartAsync();
        engine.AddComposeServer("server1");
        engine.AddComposeServer("server2");
        engine.NeverHealthy = true;
        var settings = engine.ProxySettings(server);
        settings["Provisioning:StartTimeout"] = "00:00:01";
        await using var proxy = await TestHost.StartProxyAsync([], settings);
        using var client = proxy.CreateClient();

        var (status, body) = await SendAsync(client, Add("""{"n":2,"hostnames":["S5","S6"]}""", Key));

        Assert.Equal(HttpStatusCode.GatewayTimeout, status);
        AssertJson(Failure("<Error> Server(s) S5, S6 did not become healthy within 1 s; every container this call started was stopped and removed again"), body);
        Assert.Equal([$"{FakeDockerEngine.Group}_server1_1", $"{FakeDockerEngine.Group}_server2_1"], engine.Containers().Keys.Order(StringComparer.Ordinal));
        Assert.Contains($"remove {FakeDockerEngine.Group}-S6", engine.Calls);
        AssertJson(Replicas("server1", "server2"), (await SendAsync(client, Rep(Key))).Body);
    }

    [Fact]
    public async Task An_add_the_engine_refuses_midway_fails_with_its_reason_and_removes_what_it_created()
    {
        await using var server = await TestHost.StartServerAsync("shared");
        await using var engine = await FakeDockerEngine.StartAsync();
        engine.AddComposeServer("server1");
        engine.FailStartOf = $"{FakeDockerEngine.Group}-S6";
        await using var proxy = await TestHost.StartProxyAsync([], engine.ProxySettings(server));
        using var client = proxy.CreateClient();

        var (status, body) = await SendAsync(client, Add("""{"n":2,"hostnames":["S5","S6"]}""", Key));

        Assert.Equal(HttpStatusCode.BadGateway, status);
        AssertJson(Failure($"<Error> Docker could not create and start server container '{FakeDockerEngine.Group}-S6': 500 {{\"message\":\"driver failed programming external connectivity\"}}; every container this call created was removed again"), body);
        Assert.Equal([$"{FakeDockerEngine.Group}_server1_1"], engine.Containers().Keys);
        Assert.Equal(
            [$"create {FakeDockerEngine.Group}-S5", $"start {FakeDockerEngine.Group}-S5", $"create {FakeDockerEngine.Group}-S6", $"start (refused) {FakeDockerEngine.Group}-S6",
             $"stop {FakeDockerEngine.Group}-S5", $"remove {FakeDockerEngine.Group}-S5", $"stop {FakeDockerEngine.Group}-S6", $"remove {FakeDockerEngine.Group}-S6"],
            engine.Calls);
        AssertJson(Replicas("server1"), (await SendAsync(client, Rep(Key))).Body);
    }

    [Fact]
    public async Task An_add_beyond_the_maximum_or_of_a_name_a_container_has_is_refused_before_anything_is_created()
    {
        await using var server = await TestHost.StartServerAsync("shared");
        await using var engine = await FakeDockerEngine.StartAsync();
        engine.AddComposeServer("server1");
        engine.AddComposeServer("server2", healthy: false, running: false); // stopped: not in the ring, its name still taken
        var settings = engine.ProxySettings(server);
        settings["Docker:MaxServers"] = "3";
        await using var proxy = await TestHost.StartProxyAsync([], settings);
        using var client = proxy.CreateClient();

        var (status, body) = await SendAsync(client, Add("""{"n":2}""", Key));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        AssertJson(Failure("<Error> Only 1 more server(s) can be added: the stack has 2 server container(s) and Docker:MaxServers is 3"), body);

        (status, body) = await SendAsync(client, Add("""{"n":1,"hostnames":["server2"]}""", Key));
        Assert.Equal(HttpStatusCode.Conflict, status);
        AssertJson(Failure($"<Error> Server 'server2' already exists (a container of stack '{FakeDockerEngine.Group}' has that name)"), body);
        Assert.Empty(engine.Calls);
    }

    [Fact]
    public async Task A_lost_engine_keeps_the_membership_says_Degraded_and_resyncs_when_it_answers_again()
    {
        await using var server = await TestHost.StartServerAsync("shared");
        await using var engine = await FakeDockerEngine.StartAsync();
        engine.AddComposeServer("server1");
        engine.AddComposeServer("server2");
        await using var proxy = await TestHost.StartProxyAsync([], engine.ProxySettings(server));
        using var client = proxy.CreateClient();
        Assert.Equal("Healthy", await DockerCheckAsync(client));

        engine.Unreachable = true;
        await WaitAsync(async () => await DockerCheckAsync(client) == "Degraded");
        AssertJson(Replicas("server1", "server2"), (await SendAsync(client, Rep(Key))).Body);

        // While it was gone a server turned healthy: the list on reconnecting catches it up.
        engine.AddComposeServer("server3");
        engine.Unreachable = false;
        await WaitAsync(async () => await DockerCheckAsync(client) == "Healthy");
        await WaitAsync(async () => (await SendAsync(client, Rep(Key))).Body == Replicas("server1", "server2", "server3"));

        // And the events flow again: a server turning unhealthy leaves.
        engine.SetHealth($"{FakeDockerEngine.Group}_server2_1", "unhealthy");
        await WaitAsync(async () => (await SendAsync(client, Rep(Key))).Body == Replicas("server1", "server3"));
    }

    [Fact]
    public async Task A_change_the_event_stream_never_tells_of_is_caught_by_the_periodic_list()
    {
        await using var server = await TestHost.StartServerAsync("shared");
        await using var engine = await FakeDockerEngine.StartAsync();
        engine.AddComposeServer("server1");
        engine.AddComposeServer("server2");
        var settings = engine.ProxySettings(server);
        settings["Docker:ResyncInterval"] = "00:00:00.300";
        await using var proxy = await TestHost.StartProxyAsync([], settings);
        using var client = proxy.CreateClient();
        AssertJson(Replicas("server1", "server2"), (await SendAsync(client, Rep(Key))).Body);

        // The fake adds it without an event, as a stream that died silently would miss one.
        engine.AddComposeServer("server3");
        await WaitAsync(async () => (await SendAsync(client, Rep(Key))).Body == Replicas("server1", "server2", "server3"));
    }

    [Fact]
    public async Task A_bad_Docker_endpoint_stops_the_proxy_at_start_naming_the_setting()
    {
        var settings = new Dictionary<string, string?> { ["Provisioning:Engine"] = "Docker", ["Docker:Endpoint"] = "ftp://127.0.0.1/" };

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestHost.StartProxyAsync([], settings));

        Assert.Contains("Docker:Endpoint must be the Docker Engine API's unix:// socket or an http(s)/tcp address", error.Message);
    }

    private static async Task<string?> DockerCheckAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/health");
        var report = await response.Content.ReadFromJsonAsync<JsonElement>();
        return report.GetProperty("checks").GetProperty("docker").GetProperty("status").GetString();
    }

    // Bounded: 10 s for what the fake delivers in milliseconds.
    private static async Task WaitAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, "the condition did not hold within 10 s");
            await Task.Delay(50);
        }
    }

    private static string Normalized(System.Text.Json.Nodes.JsonNode node) =>
        System.Text.Json.Nodes.JsonNode.Parse(node.ToJsonString())!.ToJsonString();
}
