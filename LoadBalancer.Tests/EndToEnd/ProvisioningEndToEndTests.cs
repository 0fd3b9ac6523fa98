using Aspire.Hosting.ApplicationModel;
using LoadBalancer.Tests.Infrastructure;
using static LoadBalancer.Tests.Admin.AdminCalls;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>An AppHost whose pool can hold six servers, three started with it.</summary>
public sealed class ProvisioningAppHostFixture : AdminAppHostFixture
{
    public const int MaxServers = 6;

    protected override IEnumerable<string> Arguments => [$"LoadBalancer:MaxServers={MaxServers}"];
}

/// <summary>
/// The assignment's /add and /rm against the real AppHost: servers are started and stopped as Aspire resources, under
/// the names asked for, while a load runs across it all without a failed request and only the changed servers' keys
/// move.
/// </summary>
[Trait(TestCategories.Name, TestCategories.EndToEnd)]
[Collection(EndToEndCollection.Name)]
public sealed class ProvisioningEndToEndTests(ProvisioningAppHostFixture fixture) : IClassFixture<ProvisioningAppHostFixture>
{
    private const int Keys = 600;

    [Fact]
    public async Task Add_starts_named_servers_rm_stops_them_and_a_load_across_it_sees_no_failure()
    {
        using var client = fixture.CreateProxyClient();
        // An /add waits for new servers to start and pass their health check: on a loaded machine that can take longer
        // than the fixture's 30 s (the proxy's own limit is Provisioning:StartTimeout).
        client.Timeout = TimeSpan.FromMinutes(2);
        var key = fixture.AdminKey;
        Assert.Equal(3, RunningServers());
        var before = await Owners.OfAsync(client, "provisioning-", Keys);

        using var load = new BackgroundLoad(fixture.CreateProxyClient());

        // The assignment's own call: two new servers, named S5 and S4.
        var (status, body) = await SendAsync(client, Add("""{"n":2,"hostnames":["S5","S4"]}""", key));
        Assert.Equal(HttpStatusCode.OK, status);
        AssertJson(Replicas("S4", "S5", "server1", "server2", "server3"), body);
        Assert.Equal(5, RunningServers());

        var added = await Owners.OfAsync(client, "provisioning-", Keys);
        Assert.Equal(["S4", "S5", "server1", "server2", "server3"], added.Distinct().Order(StringComparer.Ordinal));
        AssertOnlyMovedTo(before, added, "S4", "S5");

        // /rm drains S5 and stops its resource.
        (status, body) = await SendAsync(client, Remove("""{"n":1,"hostnames":["S5"]}""", key));
        Assert.Equal(HttpStatusCode.OK, status);
        AssertJson(Replicas("S4", "server1", "server2", "server3"), body);
        Assert.Equal(4, RunningServers());
        var removed = await Owners.OfAsync(client, "provisioning-", Keys);
        Assert.DoesNotContain("S5", removed);
        AssertOnlyMovedFrom(added, removed, "S5");

        // n without names: the AppHost invents one, following the existing naming.
        (status, body) = await SendAsync(client, Add("""{"n":1}""", key));
        Assert.Equal(HttpStatusCode.OK, status);
        var names = System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("message").GetProperty("replicas")
            .EnumerateArray().Select(e => e.GetString()!).ToArray();
        var invented = Assert.Single(names.Except(["S4", "server1", "server2", "server3"]));
        Assert.Matches("^server[0-9]+$", invented);
        Assert.Equal(5, RunningServers());

        // More than the pool holds: refused with how many can be added.
        (status, body) = await SendAsync(client, Add("""{"n":2}""", key));
        Assert.Equal(HttpStatusCode.BadRequest, status);
        AssertJson(Failure("<Error> Only 1 more server(s) can be started: the AppHost runs at most 6 (LoadBalancer:MaxServers)"), body);

        var (sent, failed) = await load.StopAsync();
        Assert.True(sent > 50, $"the load sent only {sent} requests");
        Assert.Equal(0, failed);
    }

    private int RunningServers() => Enumerable.Range(1, ProvisioningAppHostFixture.MaxServers).Count(i =>
        fixture.App.ResourceNotifications.TryGetCurrentState($"server{i}", out var state)
        && state.Snapshot.State?.Text == KnownResourceStates.Running);

    private static void AssertOnlyMovedTo(string[] before, string[] after, params string[] added)
    {
        for (var id = 0; id < Keys; id++)
        {
            Assert.True(after[id] == before[id] || added.Contains(after[id]), $"id {id} moved from {before[id]} to {after[id]}");
        }
    }

    private static void AssertOnlyMovedFrom(string[] before, string[] after, string removed)
    {
        for (var id = 0; id < Keys; id++)
        {
            Assert.True(after[id] == before[id] || before[id] == removed, $"id {id} moved from {before[id]} to {after[id]}");
        }
    }

    /// <summary>Requests one after another until stopped, bounded in count and time; counts the ones that failed.</summary>
    private sealed class BackgroundLoad : IDisposable
    {
        private const int MaxRequests = 20_000;
        private static readonly TimeSpan MaxDuration = TimeSpan.FromMinutes(2);
        private readonly HttpClient _client;
        private readonly CancellationTokenSource _stop = new(MaxDuration);
        private readonly Task<(int Sent, int Failed)> _run;

        public BackgroundLoad(HttpClient client)
        {
            _client = client;
            _run = Task.Run(RunAsync);
        }

        public async Task<(int Sent, int Failed)> StopAsync()
        {
            await _stop.CancelAsync();
            return await _run;
        }

        private async Task<(int Sent, int Failed)> RunAsync()
        {
            var (sent, failed) = (0, 0);
            while (!_stop.IsCancellationRequested && sent < MaxRequests)
            {
                try
                {
                    using var response = await _client.GetAsync($"/home?id=load-{sent % 97}");
                    failed += response.IsSuccessStatusCode ? 0 : 1;
                }
                catch (HttpRequestException)
                {
                    failed++;
                }

                sent++;
            }

            return (sent, failed);
        }

        public void Dispose()
        {
            _stop.Cancel();
            _stop.Dispose();
            _client.Dispose();
        }
    }
}
