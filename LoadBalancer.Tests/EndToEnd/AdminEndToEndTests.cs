using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Tests.Infrastructure;
using static LoadBalancer.Tests.Admin.AdminCalls;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>The admin API against the real AppHost: a removed server's keys move and it gets no traffic; adding it back returns them.</summary>
[Collection(EndToEndCollection.Name)]
[Trait(TestCategories.Name, TestCategories.EndToEnd)]
public sealed class AdminEndToEndTests(AdminAppHostFixture fixture) : IClassFixture<AdminAppHostFixture>
{
    private const int Keys = 600;

    [Fact]
    public async Task Rm_moves_only_the_removed_servers_keys_and_add_brings_them_back()
    {
        using var client = fixture.CreateProxyClient();
        var key = fixture.AdminKey;

        // The generated key is enforced.
        Assert.Equal(HttpStatusCode.Unauthorized, (await SendAsync(client, Rep())).Status);
        AssertJson(Replicas("server1", "server2", "server3"), (await SendAsync(client, Rep(key))).Body);

        var before = await OwnersAsync(client);
        Assert.Equal(["server1", "server2", "server3"], before.Distinct().Order());

        var (status, body) = await SendAsync(client, Remove("""{"n":1,"hostnames":["server2"]}""", key));
        Assert.Equal(HttpStatusCode.OK, status);
        AssertJson(Replicas("server1", "server3"), body);

        var during = await OwnersAsync(client);
        Assert.DoesNotContain("server2", during);
        for (var id = 0; id < Keys; id++)
        {
            if (before[id] != "server2")
            {
                Assert.Equal(before[id], during[id]);
            }
        }

        (status, body) = await SendAsync(client, Add("""{"n":1,"hostnames":["server2"]}""", key));
        Assert.Equal(HttpStatusCode.OK, status);
        AssertJson(Replicas("server1", "server2", "server3"), body);

        Assert.Equal(before, await OwnersAsync(client));
    }

    [Fact]
    public async Task The_dashboard_commands_take_a_server_out_of_the_ring_and_put_it_back()
    {
        using var client = fixture.CreateProxyClient();
        var commands = fixture.App.ResourceCommands;

        var removed = await commands.ExecuteCommandAsync("server3", "ring-remove");
        Assert.True(removed.Success, removed.Message);
        AssertJson(Replicas("server1", "server2"), (await SendAsync(client, Rep(fixture.AdminKey))).Body);

        // The admin API's refusal reaches the dashboard as the command's failure.
        var again = await commands.ExecuteCommandAsync("server3", "ring-remove");
        Assert.False(again.Success);
        Assert.Equal("The proxy answered 409: <Error> Server 'server3' is not in the ring (removed already)", again.Message);

        var added = await commands.ExecuteCommandAsync("server3", "ring-add");
        Assert.True(added.Success, added.Message);
        AssertJson(Replicas("server1", "server2", "server3"), (await SendAsync(client, Rep(fixture.AdminKey))).Body);
    }

    private static async Task<string[]> OwnersAsync(HttpClient client)
    {
        var owners = new string[Keys];
        await Parallel.ForEachAsync(Enumerable.Range(0, Keys), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (id, ct) =>
        {
            using var response = await client.GetAsync($"/home?id=admin-e2e-{id}", ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            owners[id] = Assert.Single(response.Headers.GetValues(ProxyRequestHandler.ServerNameHeader));

            // The answer really comes from the server the header names (server2 answers "Hello from Server: 2").
            var reply = await response.Content.ReadFromJsonAsync<System.Text.Json.JsonElement>(ct);
            Assert.Equal($"Hello from Server: {owners[id]["server".Length..]}", reply.GetProperty("message").GetString());
        });
        return owners;
    }
}
