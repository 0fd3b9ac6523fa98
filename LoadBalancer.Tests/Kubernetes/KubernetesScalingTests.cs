using System.Collections.Concurrent;
using LoadBalancer.Proxy.Membership;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static LoadBalancer.Tests.Admin.AdminCalls;

namespace LoadBalancer.Tests.Kubernetes;

/// <summary>
/// <c>Provisioning:Engine=Kubernetes</c> against <see cref="FakeKubernetesApi"/>: <c>/add</c> and <c>/rm</c> change the
/// StatefulSet's scale; the fake's "controller" starts a real server per new ordinal and publishes it as a ready
/// endpoint (or deletes it on a scale-down), so the proxy really routes to the new pods through the watched slices.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class KubernetesScalingTests : IAsyncLifetime
{
    private const int Ids = 1000;
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(20);
    private readonly ConcurrentDictionary<int, TestHost> _pods = new();
    private readonly List<TestHost> _proxies = [];
    private FakeKubernetesApi _api = null!;

    /// <summary>Pods the controller starts come up but never turn ready.</summary>
    private volatile bool _neverReady;

    public async Task InitializeAsync()
    {
        _api = await FakeKubernetesApi.StartAsync();
        _api.Scaled = ScaledAsync;
        for (var i = 0; i < 3; i++)
        {
            await StartPodAsync(i);
        }

        _api.Replicas = 3;
    }

    public async Task DisposeAsync()
    {
        foreach (var proxy in _proxies)
        {
            await proxy.DisposeAsync();
        }

        await _api.DisposeAsync();
        foreach (var pod in _pods.Values)
        {
            await pod.DisposeAsync();
        }
    }

    [Fact]
    public async Task Add_scales_the_StatefulSet_up_and_answers_when_the_new_pod_is_a_ready_server_that_is_routed_to()
    {
        using var client = (await StartProxyAsync()).CreateClient();

        var (status, body) = await SendAsync(client, Add("""{"n":1}""", Key));

        Assert.Equal(HttpStatusCode.OK, status);
        AssertJson(Replicas("server-0", "server-1", "server-2", "server-3"), body);
        Assert.Equal(4, _api.Replicas);
        var owners = await Owners.OfAsync(client, "", Ids);
        Assert.Contains("server-3", owners);

        // The next ordinal asked for by name is what the StatefulSet gives, so it is accepted.
        (status, body) = await SendAsync(client, Add("""{"n":1,"hostnames":["server-4"]}""", Key));
        Assert.Equal(HttpStatusCode.OK, status);
        AssertJson(Replicas("server-0", "server-1", "server-2", "server-3", "server-4"), body);
    }

    [Fact]
    public async Task Add_naming_a_host_the_StatefulSet_will_not_give_is_refused_saying_which_names_it_gives()
    {
        using var client = (await StartProxyAsync()).CreateClient();

        var (status, body) = await SendAsync(client, Add("""{"n":2,"hostnames":["S5"]}""", Key));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        AssertJson(Failure("<Error> The StatefulSet 'server' names its new pods by ordinal: adding 2 gives server-3, server-4; ask for those names in that order, or for none"), body);
        Assert.Equal(3, _api.Replicas);
        Assert.Equal(0, _api.ScalePatches);
    }

    [Fact]
    public async Task Rm_of_the_highest_ordinal_scales_down_and_the_pod_leaves_the_ring()
    {
        _api.Replicas = 4;
        await StartPodAsync(3);
        var proxy = await StartProxyAsync();
        using var client = proxy.CreateClient();
        await UntilAsync(() => ServersOf(proxy).Count == 4);

        var (status, body) = await SendAsync(client, Remove("""{"n":1,"hostnames":["server-3"]}""", Key));

        Assert.Equal(HttpStatusCode.OK, status);
        AssertJson(Replicas("server-0", "server-1", "server-2"), body);
        Assert.Equal(3, _api.Replicas);
        Assert.DoesNotContain("server-3", await Owners.OfAsync(client, "", Ids));

        // Without names, the StatefulSet's next victim: the highest ordinal.
        (status, body) = await SendAsync(client, Remove("""{"n":1}""", Key));
        Assert.Equal(HttpStatusCode.OK, status);
        AssertJson(Replicas("server-0", "server-1"), body);
        Assert.Equal(2, _api.Replicas);
    }

    [Fact]
    public async Task Rm_of_a_lower_ordinal_is_refused_naming_the_rule_and_the_last_server_is_never_removed()
    {
        using var client = (await StartProxyAsync()).CreateClient();

        var (status, body) = await SendAsync(client, Remove("""{"n":1,"hostnames":["server-0"]}""", Key));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        AssertJson(Failure("<Error> The StatefulSet 'server' removes its highest ordinals first: removing 1 takes server-2; ask for those names, or for none"), body);
        Assert.Equal(3, _api.Replicas);

        (status, body) = await SendAsync(client, Remove("""{"n":3}""", Key));
        Assert.Equal(HttpStatusCode.Conflict, status);
        AssertJson(Failure("<Error> Cannot remove 3 instance(s): the ring has 3 and at least one must stay"), body);
        Assert.Equal(0, _api.ScalePatches);
    }

    [Fact]
    public async Task Pods_that_never_become_ready_fail_the_add_with_504_and_are_scaled_back()
    {
        _neverReady = true;
        var proxy = await StartProxyAsync(("Provisioning:StartTimeout", "00:00:01"));
        using var client = proxy.CreateClient();

        var (status, body) = await SendAsync(client, Add("""{"n":1}""", Key));

        Assert.Equal(HttpStatusCode.GatewayTimeout, status);
        AssertJson(Failure("<Error> Server(s) server-3 were not ready within 1 s; the StatefulSet 'server' was scaled back to 3"), body);
        Assert.Equal(3, _api.Replicas);
        await _api.SettledAsync();
        AssertJson(Replicas("server-0", "server-1", "server-2"), (await SendAsync(client, Rep(Key))).Body);
    }

    [Fact]
    public async Task An_add_its_caller_abandons_before_the_pods_are_ready_is_scaled_back()
    {
        _neverReady = true;
        var proxy = await StartProxyAsync(("Provisioning:StartTimeout", "00:01:00"));
        using var client = proxy.CreateClient();
        using var abandon = new CancellationTokenSource();

        var add = client.SendAsync(Add("""{"n":1}""", Key), abandon.Token);
        await UntilAsync(() => _api.Replicas == 4);
        await abandon.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => add);

        // Well before the start timeout: the scale goes back because nobody waits for it any more.
        await UntilAsync(() => _api.Replicas == 3);
        Assert.Equal(2, _api.ScalePatches);
        await _api.SettledAsync();
        AssertJson(Replicas("server-0", "server-1", "server-2"), (await SendAsync(client, Rep(Key))).Body);
    }

    [Fact]
    public async Task A_scale_changed_by_someone_else_meanwhile_answers_409_and_changes_nothing_more()
    {
        using var client = (await StartProxyAsync()).CreateClient();
        // Another proxy replica (or kubectl) scales to 4 between this proxy's read and its patch.
        _api.ScaleAfterNextRead(4);

        var (status, body) = await SendAsync(client, Add("""{"n":1}""", Key));

        Assert.Equal(HttpStatusCode.Conflict, status);
        AssertJson(Failure("<Error> The StatefulSet 'server' was scaled by someone else at the same time (it no longer has 3 replicas); nothing was changed, try again"), body);
        Assert.Equal(4, _api.Replicas);
    }

    [Fact]
    public async Task Two_proxies_on_the_same_API_agree_after_an_add_through_one()
    {
        using var one = (await StartProxyAsync()).CreateClient();
        using var two = (await StartProxyAsync()).CreateClient();

        var (status, _) = await SendAsync(two, Add("""{"n":1}""", Key));
        Assert.Equal(HttpStatusCode.OK, status);

        var owners = await Owners.AgreeAsync(one, two, "", Ids);
        Assert.Contains("server-3", owners);
    }

    [Fact]
    public async Task The_Kubernetes_engine_without_Kubernetes_membership_stops_the_proxy_at_start_naming_both_settings()
    {
        var settings = new Dictionary<string, string?> { ["Provisioning:Engine"] = "Kubernetes" };

        var error = await Assert.ThrowsAsync<InvalidOperationException>(() => TestHost.StartProxyAsync([], settings));

        Assert.Equal("Provisioning:Engine=Kubernetes scales the StatefulSet whose EndpointSlices Kubernetes membership watches: set Kubernetes:Enabled=true too.", error.Message);
    }

    private async Task<TestHost> StartProxyAsync(params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Kubernetes:Enabled"] = "true",
            ["Kubernetes:ApiServer"] = _api.Address.ToString(),
            ["Kubernetes:Namespace"] = FakeKubernetesApi.Namespace,
            ["Kubernetes:RetryDelay"] = "00:00:00.050",
            ["Kubernetes:MaxRetryDelay"] = "00:00:00.200",
            ["Kubernetes:RequestTimeout"] = "00:00:02",
            ["Provisioning:Engine"] = "Kubernetes",
            ["Provisioning:StartTimeout"] = "00:00:20",
            ["Admin:ApiKey"] = Key,
        };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        var proxy = await TestHost.StartProxyAsync([], settings);
        _proxies.Add(proxy);
        return proxy;
    }

    // The StatefulSet controller: new ordinals get a pod (a real server) and an endpoint; removed ones lose both.
    private async Task ScaledAsync(int from, int to)
    {
        for (var ordinal = from; ordinal < to; ordinal++)
        {
            await StartPodAsync(ordinal);
        }

        for (var ordinal = to; ordinal < from; ordinal++)
        {
            _api.DeleteSlice($"server-{ordinal}");
            if (_pods.TryRemove(ordinal, out var pod))
            {
                await pod.DisposeAsync();
            }
        }
    }

    private async Task StartPodAsync(int ordinal)
    {
        var pod = await TestHost.StartServerAsync($"server-{ordinal}");
        _pods[ordinal] = pod;
        _api.SetSlice($"server-{ordinal}", "server", "http", pod.Address.Port, ($"server-{ordinal}", !_neverReady));
    }

    private static IReadOnlyList<string> ServersOf(TestHost proxy) =>
        proxy.App.Services.GetRequiredService<MembershipManager>().CurrentServers;

    // Bounded: polls every 50 ms for at most Limit, then fails.
    private static async Task UntilAsync(Func<bool> condition)
    {
        var deadline = DateTime.UtcNow + Limit;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < deadline, $"not reached within {Limit}");
            await Task.Delay(50);
        }
    }
}
