using System.Text.Json;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Health;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancer.Tests.Health;

/// <summary>Active probes on an injected clock: servers leave after K failed probes and rejoin after passing.</summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class ServerProbesTests
{
    private static async Task<TestHost> StartFlakyAsync(Func<bool> healthy) =>
        await TestHost.StartBackendAsync(context =>
        {
            if (context.Request.Path == "/heartbeat")
            {
                context.Response.StatusCode = healthy() ? 200 : 500;
                return Task.CompletedTask;
            }

            return context.Response.WriteAsync("flaky");
        });

    [Fact]
    public async Task A_server_leaves_after_two_failed_probes_its_keys_move_and_it_rejoins_when_it_passes()
    {
        var healthy = true;
        await using var flaky = await StartFlakyAsync(() => Volatile.Read(ref healthy));
        await using var s1 = await TestHost.StartServerAsync("1");
        await using var s2 = await TestHost.StartServerAsync("2");
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var proxy = await TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["flaky"] = flaky.Address, ["server1"] = s1.Address, ["server2"] = s2.Address },
            services: services => services.AddSingleton<TimeProvider>(time));
        using var client = proxy.CreateClient();
        var checker = proxy.App.Services.GetRequiredService<ServerProbes>();
        var server = ProxyProbe.Server(proxy, "flaky");
        var keys = Keys.Random(300);
        var before = await OwnersAsync(client, keys);
        Assert.Contains("flaky", before.Values);

        Volatile.Write(ref healthy, false);
        await checker.ProbeAllAsync(CancellationToken.None);
        Assert.True(server.IsAvailable, "one failed probe is not enough to leave");
        await checker.ProbeAllAsync(CancellationToken.None);
        Assert.Equal(UnavailableReasons.HealthProbe, server.UnavailableReasons);

        // Only the flaky server's keys moved.
        var during = await OwnersAsync(client, keys);
        foreach (var key in keys)
        {
            if (before[key] == "flaky")
            {
                Assert.NotEqual("flaky", during[key]);
            }
            else
            {
                Assert.Equal(before[key], during[key]);
            }
        }

        using (var health = await client.GetAsync("/health"))
        {
            Assert.Equal(HttpStatusCode.OK, health.StatusCode);
            var report = await health.Content.ReadFromJsonAsync<JsonElement>();
            Assert.Equal("Degraded", report.GetProperty("status").GetString());
            Assert.Equal("down", report.GetProperty("servers").GetProperty("flaky").GetProperty("state").GetString());
            Assert.Equal("up", report.GetProperty("servers").GetProperty("server1").GetProperty("state").GetString());
        }

        Volatile.Write(ref healthy, true);
        await checker.ProbeAllAsync(CancellationToken.None);
        Assert.True(server.IsAvailable);
        Assert.Equal(before, await OwnersAsync(client, keys));

        using var healed = await client.GetAsync("/health");
        Assert.Equal("Healthy", (await healed.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
    }

    [Fact]
    public async Task The_probe_loop_runs_on_the_injected_clock()
    {
        var healthy = true;
        await using var flaky = await StartFlakyAsync(() => Volatile.Read(ref healthy));
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var proxy = await TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["flaky"] = flaky.Address },
            services: services => services.AddSingleton<TimeProvider>(time));
        var server = ProxyProbe.Server(proxy, "flaky");

        Volatile.Write(ref healthy, false);
        // Without the clock moving, no further probe runs, so the server stays in however long we wait.
        await Task.Delay(300);
        Assert.True(server.IsAvailable);

        for (var i = 0; i < 200 && server.IsAvailable; i++)
        {
            time.Advance(TimeSpan.FromSeconds(1));
            await Task.Delay(20);
        }

        Assert.False(server.IsAvailable);
    }

    [Fact]
    public async Task Probe_rounds_start_on_a_fixed_cadence_however_long_the_slowest_probe_took()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var probes = 0;
        await using var slow = await TestHost.StartBackendAsync(context =>
        {
            if (context.Request.Path == "/heartbeat" && Interlocked.Increment(ref probes) == 1)
            {
                // The first round's probe takes 400 ms of the proxy's clock.
                time.Advance(TimeSpan.FromMilliseconds(400));
            }

            return Task.CompletedTask;
        });
        await using var proxy = await TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["slow"] = slow.Address },
            services: services => services.AddSingleton<TimeProvider>(time));

        await WaitUntilAsync(() => Volatile.Read(ref probes) == 1);
        // Let the loop reach its wait, then move the clock to one interval after the first round began.
        await Task.Delay(300);
        time.Advance(TimeSpan.FromMilliseconds(600));

        // A loop that waited the whole interval after the round would not probe again before 1.4 s.
        await WaitUntilAsync(() => Volatile.Read(ref probes) >= 2);
        Assert.Equal(2, Volatile.Read(ref probes));
    }

    private static async Task WaitUntilAsync(Func<bool> condition)
    {
        for (var i = 0; i < 100 && !condition(); i++)
        {
            await Task.Delay(50);
        }

        Assert.True(condition(), "the condition did not hold within 5 s");
    }

    [Fact]
    public async Task With_every_server_probed_out_requests_get_503_at_once_and_health_is_unhealthy()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var proxy = await TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["a"] = ProxyProbe.RefusedAddress(), ["b"] = ProxyProbe.RefusedAddress() },
            services: services => services.AddSingleton<TimeProvider>(time));
        using var client = proxy.CreateClient();
        var checker = proxy.App.Services.GetRequiredService<ServerProbes>();
        await checker.ProbeAllAsync(CancellationToken.None);
        await checker.ProbeAllAsync(CancellationToken.None);

        using var response = await client.GetAsync("/home?id=1");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.False(response.Headers.Contains("X-Upstream-Server"));

        using var health = await client.GetAsync("/health");
        Assert.Equal(HttpStatusCode.ServiceUnavailable, health.StatusCode);
        var report = await health.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("Unhealthy", report.GetProperty("status").GetString());
        Assert.Equal("HealthProbe", Assert.Single(report.GetProperty("servers").GetProperty("a").GetProperty("reasons").EnumerateArray()).GetString());
    }

    private static async Task<Dictionary<string, string>> OwnersAsync(HttpClient client, IEnumerable<string> keys)
    {
        var owners = new Dictionary<string, string>();
        foreach (var key in keys)
        {
            using var response = await client.GetAsync($"/home?id={key}");
            Assert.True(response.IsSuccessStatusCode, $"{key}: {response.StatusCode}");
            owners[key] = ProxyProbe.ServerOf(response);
        }

        return owners;
    }

    [Theory]
    [InlineData(0.0)]
    [InlineData(0.2)]
    [InlineData(0.5)]
    public async Task Probe_rounds_wait_the_interval_spread_by_the_configured_jitter(double jitter)
    {
        // Probing off: the loop draws nothing, so this test is the generator's only user.
        await using var proxy = await TestHost.StartProxyAsync(
            [KeyValuePair.Create("a", new Uri("http://127.0.0.1:40001"))],
            new Dictionary<string, string?>
            {
                ["Health:Enabled"] = "false",
                ["Health:Interval"] = "00:00:02",
                ["Health:Jitter"] = jitter.ToString(System.Globalization.CultureInfo.InvariantCulture),
            },
            services => services.AddSingleton<LoadBalancer.Proxy.Common.IRandomFactory>(new LoadBalancer.Tests.Admin.SeededRandomFactory(7)));
        var checker = proxy.App.Services.GetRequiredService<ServerProbes>();

        var waits = Enumerable.Range(0, 2_000).Select(_ => checker.NextDelay().TotalSeconds).ToArray();

        Assert.All(waits, wait => Assert.InRange(wait, 2 * (1 - jitter), 2 * (1 + jitter)));
        // Spread over the whole range, not bunched: the extremes are within 1 % of its ends.
        Assert.InRange(waits.Min(), 2 * (1 - jitter), (2 * (1 - jitter)) + 0.02);
        Assert.InRange(waits.Max(), (2 * (1 + jitter)) - 0.02, 2 * (1 + jitter));
    }

    [Fact]
    public async Task A_jitter_over_half_the_interval_stops_the_proxy_at_start()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestHost.StartProxyAsync([], new Dictionary<string, string?> { ["Health:Jitter"] = "0.8" }));
        Assert.Contains("Jitter", error.Message, StringComparison.Ordinal);
    }
}
