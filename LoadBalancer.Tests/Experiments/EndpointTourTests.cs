using LoadBalancer.Experiments.Load;
using LoadBalancer.Experiments.Runs;
using LoadBalancer.Tests.Admin;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Experiments;

/// <summary>A-3's endpoint tour against a real standalone proxy and three real servers on 127.0.0.1.</summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class EndpointTourTests
{
    private static readonly string[] Servers = ["server1", "server2", "server3"];

    [Fact]
    public async Task Where_the_proxy_starts_servers_the_tour_adds_S5_and_S4_and_removes_them()
    {
        await using var engine = await LoadBalancer.Tests.Provisioning.EngineStandIn.StartAsync(Servers);
        await using var proxy = await TestHost.StartProxyAsync([], engine.ProxySettings());
        using var client = LoadGenerator.CreateClient(proxy.Address, 1);

        var calls = await new EndpointTour(client, AdminCalls.Key, startsServers: true).RunAsync(Servers, CancellationToken.None);

        Assert.True(calls.All(c => c.Passed), "Not as expected: " + string.Join("; ", calls.Where(c => !c.Passed)));
        AdminCalls.AssertJson(AdminCalls.Replicas("S4", "S5", "server1", "server2", "server3"), calls[4].Reply);
        AdminCalls.AssertJson(AdminCalls.Replicas(Servers), calls[5].Reply);
        Assert.Equal(Servers, engine.Running);
    }

    [Fact]
    public async Task With_the_key_every_endpoint_answers_in_the_assignments_shape_and_the_ring_ends_as_it_began()
    {
        await using var cluster = await TestCluster.StartAsync(3, new Dictionary<string, string?> { ["Admin:ApiKey"] = AdminCalls.Key });
        using var client = LoadGenerator.CreateClient(cluster.Proxy.Address, 1);

        var calls = await new EndpointTour(client, AdminCalls.Key).RunAsync(Servers, CancellationToken.None);

        Assert.True(calls.All(c => c.Passed), "Not as expected: " + string.Join("; ", calls.Where(c => !c.Passed)));
        Assert.Equal(
            ["GET /home", "GET /heartbeat", "GET /rep", "GET /rep", "DELETE /rm", "POST /add", "DELETE /rm", "POST /add", "POST /add", "DELETE /rm", "GET /other"],
            calls.Select(c => c.Endpoint));
        Assert.Equal([200, 200, 200, 401, 200, 200, 200, 200, 400, 400, 400], calls.Select(c => c.Status));

        Assert.StartsWith("{\"message\":\"Hello from Server: ", calls[0].Reply, StringComparison.Ordinal);
        Assert.Equal("", calls[1].Reply);
        AdminCalls.AssertJson(AdminCalls.Replicas(Servers), calls[2].Reply);
        AdminCalls.AssertJson(AdminCalls.Replicas("server1", "server2"), calls[4].Reply);
        AdminCalls.AssertJson(AdminCalls.Replicas(Servers), calls[5].Reply);
        AdminCalls.AssertJson(AdminCalls.Replicas(Servers), calls[7].Reply);
        AdminCalls.AssertJson(AdminCalls.Failure(EndpointTour.TooManyToAdd), calls[8].Reply);
        AdminCalls.AssertJson(AdminCalls.Failure(EndpointTour.TooManyToRemove), calls[9].Reply);
        AdminCalls.AssertJson(AdminCalls.Failure("<Error> '/other' endpoint does not exist in server replicas"), calls[10].Reply);

        // The tour left the ring whole.
        var (status, body) = await AdminCalls.SendAsync(client, AdminCalls.Rep(AdminCalls.Key));
        Assert.Equal(System.Net.HttpStatusCode.OK, status);
        AdminCalls.AssertJson(AdminCalls.Replicas(Servers), body);

        // One table row per call, none marked as unexpected, and the key appears nowhere.
        var table = EndpointTour.Table(calls);
        Assert.Equal(calls.Count + 2, table.Split('\n', StringSplitOptions.RemoveEmptyEntries).Length);
        Assert.DoesNotContain("**no**", table, StringComparison.Ordinal);
        Assert.DoesNotContain(AdminCalls.Key, table, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_a_wrong_key_the_admin_calls_are_reported_as_not_as_expected()
    {
        await using var cluster = await TestCluster.StartAsync(3, new Dictionary<string, string?> { ["Admin:ApiKey"] = AdminCalls.Key });
        using var client = LoadGenerator.CreateClient(cluster.Proxy.Address, 1);

        var calls = await new EndpointTour(client, "not-the-admin-key-0123456789").RunAsync(Servers, CancellationToken.None);

        // Forwarded paths and the call meant to get 401 pass; every keyed admin call got 401 and fails.
        Assert.Equal([true, true, false, true, false, false, false, false, false, false, true], calls.Select(c => c.Passed));
        Assert.All(calls.Where(c => !c.Passed), c => Assert.Equal(401, c.Status));
        Assert.Contains("| **no** |", EndpointTour.Table(calls), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_key_the_proxy_accepts_loopback_admin_calls_and_the_401_call_is_left_out()
    {
        await using var cluster = await TestCluster.StartAsync(3);
        using var client = LoadGenerator.CreateClient(cluster.Proxy.Address, 1);

        var calls = await new EndpointTour(client, adminKey: null).RunAsync(Servers, CancellationToken.None);

        Assert.True(calls.All(c => c.Passed), "Not as expected: " + string.Join("; ", calls.Where(c => !c.Passed)));
        Assert.Equal([200, 200, 200, 200, 200, 200, 200, 400, 400, 400], calls.Select(c => c.Status));
    }

    [Fact]
    public void Table_escapes_pipes_abbreviates_long_replies_and_shows_empty_ones()
    {
        var table = EndpointTour.Table([
            new EndpointCall("GET /x", "/x", "200", 200, "a|b" + new string('z', 200), true),
            new EndpointCall("GET /heartbeat", "/heartbeat", "200", 200, "", true),
            new EndpointCall("GET /y", "/y", "200", 0, "Connection refused", false),
        ]);

        var rows = table.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal(5, rows.Length);
        Assert.Contains("`a\\|bzz", rows[2], StringComparison.Ordinal);
        Assert.Contains("…`", rows[2], StringComparison.Ordinal);
        Assert.DoesNotContain(new string('z', 200), rows[2], StringComparison.Ordinal);
        Assert.Contains("| (empty) |", rows[3], StringComparison.Ordinal);
        Assert.Contains("| – |", rows[4], StringComparison.Ordinal);
        Assert.EndsWith("| **no** |", rows[4].TrimEnd('\r'), StringComparison.Ordinal);
    }
}
