using LoadBalancer.Tests.Infrastructure;
using Microsoft.Extensions.Options;
using static LoadBalancer.Tests.Admin.AdminCalls;

namespace LoadBalancer.Tests.Provisioning;

/// <summary>
/// The proxy with an engine that runs its servers (Provisioning:Engine): membership is the engine's list, so proxy
/// replicas agree; /add and /rm start and stop servers through it; a start the engine gives up changes nothing.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class ProvisioningTests
{
    private const int Ids = 1000;

    [Fact]
    public async Task Add_and_rm_through_one_replica_change_what_every_replica_routes()
    {
        await using var engine = await EngineStandIn.StartAsync("server1", "server2", "server3");
        await using var first = await TestHost.StartProxyAsync([], engine.ProxySettings());
        await using var second = await TestHost.StartProxyAsync([], engine.ProxySettings());
        using var one = first.CreateClient();
        using var two = second.CreateClient();

        AssertJson(Replicas("server1", "server2", "server3"), (await SendAsync(two, Rep(Key))).Body);
        var before = await Owners.OfAsync(one, "", Ids);

        // The assignment's call: two new servers under the names asked for.
        var (status, body) = await SendAsync(one, Add("""{"n":2,"hostnames":["S5","S4"]}""", Key));
        Assert.Equal(HttpStatusCode.OK, status);
        AssertJson(Replicas("S4", "S5", "server1", "server2", "server3"), body);
        Assert.Equal(["S4", "S5", "server1", "server2", "server3"], engine.Running);

        var added = await Owners.AgreeAsync(one, two, "", Ids);
        Assert.Contains("S5", added);
        Assert.Contains("S4", added);
        for (var id = 0; id < Ids; id++)
        {
            // Consistent hashing: only keys that now belong to a new server moved.
            Assert.True(added[id] == before[id] || added[id] is "S4" or "S5", $"id {id} moved from {before[id]} to {added[id]}");
        }

        // Removed through the other replica: drained, stopped by the engine, gone from both tables.
        (status, body) = await SendAsync(two, Remove("""{"n":1,"hostnames":["S5"]}""", Key));
        Assert.Equal(HttpStatusCode.OK, status);
        AssertJson(Replicas("S4", "server1", "server2", "server3"), body);
        Assert.DoesNotContain("S5", engine.Running);
        var removed = await Owners.AgreeAsync(one, two, "", Ids);
        Assert.DoesNotContain("S5", removed);

        // n above the names: the engine invents the rest.
        (status, body) = await SendAsync(one, Add("""{"n":1}""", Key));
        Assert.Equal(HttpStatusCode.OK, status);
        AssertJson(Replicas("S4", "server1", "server2", "server3", "server4"), body);
    }

    [Fact]
    public async Task An_add_the_engine_gives_up_on_fails_with_its_reason_and_changes_nothing()
    {
        await using var engine = await EngineStandIn.StartAsync("server1", "server2");
        engine.NeverHealthy = true;
        await using var proxy = await TestHost.StartProxyAsync([], engine.ProxySettings());
        using var client = proxy.CreateClient();

        var (status, body) = await SendAsync(client, Add("""{"n":1,"hostnames":["S9"]}""", Key));

        Assert.Equal(HttpStatusCode.GatewayTimeout, status);
        AssertJson(Failure("<Error> Server(s) S9 did not become healthy (not ready within 1 s); every server this call started was stopped again"), body);
        AssertJson(Replicas("server1", "server2"), (await SendAsync(client, Rep(Key))).Body);
        Assert.Equal(["server1", "server2"], engine.Running);
    }

    [Fact]
    public async Task Servers_started_that_never_reach_the_table_in_time_are_stopped_again_and_the_add_fails()
    {
        await using var engine = await EngineStandIn.StartAsync("server1", "server2");
        engine.Unlisted = true;
        var settings = engine.ProxySettings();
        settings["Provisioning:StartTimeout"] = "00:00:01";
        await using var proxy = await TestHost.StartProxyAsync([], settings);
        using var client = proxy.CreateClient();

        var (status, body) = await SendAsync(client, Add("""{"n":1,"hostnames":["S9"]}""", Key));

        Assert.Equal(HttpStatusCode.GatewayTimeout, status);
        AssertJson(Failure("<Error> Server(s) S9 started but did not reach this proxy's table within 1 s; they were stopped again"), body);
        Assert.Equal(["server1", "server2"], engine.Running);
        AssertJson(Replicas("server1", "server2"), (await SendAsync(client, Rep(Key))).Body);
    }

    [Fact]
    public async Task A_name_in_the_ring_is_refused_before_the_engine_is_asked()
    {
        await using var engine = await EngineStandIn.StartAsync("server1", "server2");
        await using var proxy = await TestHost.StartProxyAsync([], engine.ProxySettings());
        using var client = proxy.CreateClient();

        var (status, body) = await SendAsync(client, Add("""{"n":1,"hostnames":["server2"]}""", Key));
        Assert.Equal(HttpStatusCode.Conflict, status);
        AssertJson(Failure("<Error> Server 'server2' is already in the ring"), body);

        (status, body) = await SendAsync(client, Remove("""{"n":2}""", Key));
        Assert.Equal(HttpStatusCode.Conflict, status);
        AssertJson(Failure("<Error> Cannot remove 2 instance(s): the ring has 2 and at least one must stay"), body);
        Assert.Equal(0, engine.Calls);
    }

    [Fact]
    public async Task Rm_before_the_engines_first_list_is_refused_rather_than_made_in_this_proxy_alone()
    {
        // An engine address where nothing answers: the proxy starts, but no list ever arrives.
        var settings = new Dictionary<string, string?>
        {
            ["Provisioning:Engine"] = "AppHost",
            ["Provisioning:Address"] = $"http://127.0.0.1:{Ports.Free()}/",
            ["Provisioning:Key"] = EngineStandIn.Key,
            ["Admin:ApiKey"] = Key,
        };
        await using var proxy = await TestHost.StartProxyAsync([], settings);
        using var client = proxy.CreateClient();

        var (status, body) = await SendAsync(client, Remove("""{"n":1}""", Key));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, status);
        AssertJson(Failure("<Error> The engine's list of servers has not reached this proxy yet; try again in a moment"), body);
    }

    [Fact]
    public async Task An_engine_without_its_address_stops_the_proxy_at_start_naming_the_setting()
    {
        var settings = new Dictionary<string, string?> { ["Provisioning:Engine"] = "AppHost", ["Provisioning:Key"] = "k" };

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => TestHost.StartProxyAsync([], settings));

        Assert.Contains("Provisioning:Address must be the engine's absolute http(s) address", error.Message);
    }

    [Fact]
    public async Task An_engine_and_Kubernetes_membership_together_stop_the_proxy_at_start_naming_both()
    {
        var settings = new Dictionary<string, string?>
        {
            ["Provisioning:Engine"] = "AppHost",
            ["Provisioning:Address"] = "http://127.0.0.1:1/",
            ["Provisioning:Key"] = "k",
            ["Kubernetes:Enabled"] = "true",
            ["Kubernetes:ApiServer"] = "http://127.0.0.1:1/",
        };

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestHost.StartProxyAsync([], settings));

        Assert.Equal("Kubernetes:Enabled and Provisioning:Engine=AppHost both say where the servers come from: set only one (with Kubernetes:Enabled, Provisioning:Engine may be Kubernetes or None).", error.Message);
    }
}
