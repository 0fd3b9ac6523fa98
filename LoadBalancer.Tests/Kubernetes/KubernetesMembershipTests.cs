using System.Text.Json;
using LoadBalancer.Proxy.Membership;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace LoadBalancer.Tests.Kubernetes;

/// <summary>
/// The proxy's Kubernetes membership (Kubernetes:Enabled) against <see cref="FakeKubernetesApi"/>: the EndpointSlices of
/// the servers' Service, one per real server on 127.0.0.1 (slices may differ in port), become the ring; changes arrive
/// by the watch; an expired watch and a lost API are survived.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class KubernetesMembershipTests : IAsyncLifetime
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);
    private readonly List<TestHost> _servers = [];
    private FakeKubernetesApi _api = null!;
    private TestHost _proxy = null!;

    public async Task InitializeAsync()
    {
        _api = await FakeKubernetesApi.StartAsync();
        for (var i = 0; i < 3; i++)
        {
            _servers.Add(await TestHost.StartServerAsync($"server-{i}"));
        }

        // Ready pods server-0 and server-1; server-2 not ready yet; a slice of another Service to be ignored.
        Slice(0, ready: true);
        Slice(1, ready: true);
        Slice(2, ready: false);
        _api.SetSlice("other-abc", "other", "http", _servers[0].Address.Port, ("other-0", true));
        _proxy = await TestHost.StartProxyAsync([], new Dictionary<string, string?>
        {
            ["Kubernetes:Enabled"] = "true",
            ["Kubernetes:ApiServer"] = _api.Address.ToString(),
            ["Kubernetes:Namespace"] = FakeKubernetesApi.Namespace,
            ["Kubernetes:ServiceName"] = "server",
            ["Kubernetes:RetryDelay"] = "00:00:00.050",
            ["Kubernetes:MaxRetryDelay"] = "00:00:00.200",
            ["Kubernetes:RequestTimeout"] = "00:00:02",
        });
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        foreach (var server in _servers)
        {
            await server.DisposeAsync();
        }

        await _api.DisposeAsync();
    }

    [Fact]
    public async Task The_initial_list_gives_the_ready_pods_by_hostname_and_requests_reach_them()
    {
        Assert.Equal(["server-0", "server-1"], Servers());
        Assert.Equal(1, _api.Lists);

        using var client = _proxy.CreateClient();
        var answered = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 200 && answered.Count < 2; i++)
        {
            using var response = await client.GetAsync($"/home?id={i}");
            response.EnsureSuccessStatusCode();
            answered.Add(response.Headers.GetValues("X-Upstream-Server").Single());
        }

        Assert.Equal(["server-0", "server-1"], answered.Order(StringComparer.Ordinal));
        var health = await HealthAsync();
        Assert.Equal("Healthy", health.GetProperty("checks").GetProperty("kubernetes").GetProperty("status").GetString());
    }

    [Fact]
    public async Task A_pod_becoming_ready_joins_and_one_becoming_unready_leaves_by_the_watch()
    {
        Slice(2, ready: true);
        await UntilAsync(() => Servers().SequenceEqual(["server-0", "server-1", "server-2"]));

        Slice(0, ready: false);
        await UntilAsync(() => Servers().SequenceEqual(["server-1", "server-2"]));

        _api.DeleteSlice("server-1");
        await UntilAsync(() => Servers().SequenceEqual(["server-2"]));

        // All by the one watch: no list after the first.
        Assert.Equal(1, _api.Lists);
    }

    [Fact]
    public async Task A_bookmark_moves_the_watch_on_without_changing_the_members()
    {
        // The watch is open (the proxy starts it after its first list), so the bookmark reaches it.
        await UntilAsync(() => _api.Watches >= 1);
        var watches = _api.Watches;
        _api.Bookmark();
        Slice(2, ready: true);

        await UntilAsync(() => Servers().Count == 3);
        Assert.Equal(watches, _api.Watches);
        Assert.Equal(1, _api.Lists);
    }

    [Fact]
    public async Task A_watch_that_expires_with_410_Gone_is_followed_by_a_new_list_and_watch()
    {
        await UntilAsync(() => _api.Watches >= 1);
        _api.Compact();
        // Changed after the expiry, before the proxy lists again: only a new list can tell it.
        Slice(2, ready: true);

        await UntilAsync(() => Servers().Count == 3);
        Assert.True(_api.Lists >= 2, $"lists: {_api.Lists}");
        await UntilAsync(() => _api.Watches >= 2);
        Slice(0, ready: false);
        await UntilAsync(() => Servers().SequenceEqual(["server-1", "server-2"]));
        var health = await HealthAsync();
        Assert.Equal("Healthy", health.GetProperty("checks").GetProperty("kubernetes").GetProperty("status").GetString());
    }

    [Fact]
    public async Task An_API_lost_for_a_while_keeps_the_membership_says_so_in_health_and_is_caught_up_with_on_return()
    {
        await UntilAsync(() => _api.Watches >= 1);
        _api.Down = true;

        await UntilAsync(async () => (await HealthAsync()).GetProperty("status").GetString() == "Degraded");
        var health = await HealthAsync();
        var kubernetes = health.GetProperty("checks").GetProperty("kubernetes");
        Assert.Equal("Degraded", kubernetes.GetProperty("status").GetString());
        Assert.Contains("keeping the last membership (2 servers)", kubernetes.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.Equal(["server-0", "server-1"], Servers());
        using (var client = _proxy.CreateClient())
        {
            using var response = await client.GetAsync("/home?id=1");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // While it is away, the set changes and the API forgets the version the proxy last saw.
        Slice(2, ready: true);
        Slice(0, ready: false);
        _api.Compact();
        _api.Down = false;

        await UntilAsync(() => Servers().SequenceEqual(["server-1", "server-2"]));
        Assert.True(_api.ListsGone >= 1, "the proxy listed from its last version first, and was told it is gone");
        await UntilAsync(async () => (await HealthAsync()).GetProperty("checks").GetProperty("kubernetes").GetProperty("status").GetString() == "Healthy");
    }

    private void Slice(int ordinal, bool ready) =>
        _api.SetSlice($"server-{ordinal}", "server", "http", _servers[ordinal].Address.Port, ($"server-{ordinal}", ready));

    private IReadOnlyList<string> Servers() =>
        _proxy.App.Services.GetRequiredService<MembershipManager>().CurrentServers.Order(StringComparer.Ordinal).ToList();

    private async Task<JsonElement> HealthAsync()
    {
        using var client = _proxy.CreateClient();
        using var response = await client.GetAsync("/health");
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static Task UntilAsync(Func<bool> condition) => UntilAsync(() => Task.FromResult(condition()));

    // Bounded: polls every 50 ms for at most Limit, then fails.
    private static async Task UntilAsync(Func<Task<bool>> condition)
    {
        var deadline = DateTime.UtcNow + Limit;
        while (!await condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not reached within {Limit}");
            await Task.Delay(50);
        }
    }
}
