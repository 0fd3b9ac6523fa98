using System.Diagnostics.Metrics;
using System.Text.Json;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Proxy.Membership;
using LoadBalancer.Proxy.Telemetry;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace LoadBalancer.Tests.Telemetry;

[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class ProxyMetricsTests
{
    [Fact]
    public async Task Requests_per_server_in_the_meter_match_what_each_server_answered()
    {
        var (proxy, hosts) = await TelemetryTestKit.StartAsync(3);
        await using var _ = proxy;
        try
        {
            using var recorder = new TelemetryTestKit.Recorder(proxy.App.Services.GetRequiredService<IMeterFactory>());
            using var client = proxy.CreateClient();
            var answered = new Dictionary<string, int>();
            for (var i = 0; i < 300; i++)
            {
                using var response = await client.GetAsync($"/home?id=metrics-{i}");
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                // Who really answered: the server's own words, not the proxy's header.
                var message = (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString()!;
                var server = "server" + message["Hello from Server: ".Length..];
                answered[server] = answered.GetValueOrDefault(server) + 1;
            }

            var counted = recorder.Of("loadbalancer.server.requests")
                .GroupBy(m => (string)m.Tags[ProxyTelemetry.ServerAttribute]!)
                .ToDictionary(g => g.Key, g => g.Sum(m => m.Value));
            Assert.Equal(3, answered.Count);
            Assert.Equal(answered.OrderBy(p => p.Key).Select(p => (p.Key, (double)p.Value)), counted.OrderBy(p => p.Key).Select(p => (p.Key, p.Value)));
            Assert.All(recorder.Of("loadbalancer.server.requests"), m => Assert.Equal("success", m.Tags[ProxyTelemetry.OutcomeAttribute]));

            var durations = recorder.Of("loadbalancer.server.duration");
            Assert.Equal(300, durations.Length);
            Assert.All(durations, d => Assert.InRange(d.Value, 0, 60));

            // The ring's own count agrees: BackendServer.Served, as /ring reports it.
            var servers = proxy.App.Services.GetRequiredService<TableState>().Current!.Table.Servers;
            Assert.All(servers, m => Assert.Equal(answered[m.Name], m.Served));

            recorder.RecordObservable();
            var states = recorder.Of("loadbalancer.ring.servers").ToDictionary(m => (string)m.Tags[ProxyTelemetry.ServerStateAttribute]!, m => m.Value);
            Assert.Equal(3, states["healthy"]);
            Assert.Equal(0, states["unavailable"]);
        }
        finally
        {
            foreach (var host in hosts)
            {
                await host.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_refused_attempt_and_a_request_without_servers_are_counted_by_outcome()
    {
        await using var proxy = await TestHost.StartProxyAsync([KeyValuePair.Create("server1", new Uri("http://127.0.0.1:9/"))]);
        using var recorder = new TelemetryTestKit.Recorder(proxy.App.Services.GetRequiredService<IMeterFactory>());
        using var client = proxy.CreateClient();

        using (var refused = await client.GetAsync("/home?id=1"))
        {
            // Nothing reached a server: as good as no server (failover's answer).
            Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        }

        var server = proxy.App.Services.GetRequiredService<TableState>().Current!.Table.Servers.Single();
        server.SetUnavailable(UnavailableReasons.HealthProbe, true);
        using (var none = await client.GetAsync("/home?id=1"))
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, none.StatusCode);
        }

        var requests = recorder.Of("loadbalancer.server.requests");
        Assert.Equal(2, requests.Length);
        Assert.Equal("connection_failed", requests[0].Tags[ProxyTelemetry.OutcomeAttribute]);
        Assert.Equal("server1", requests[0].Tags[ProxyTelemetry.ServerAttribute]);
        Assert.Equal("no_server", requests[1].Tags[ProxyTelemetry.OutcomeAttribute]);
        Assert.False(requests[1].Tags.ContainsKey(ProxyTelemetry.ServerAttribute));

        recorder.RecordObservable();
        var states = recorder.Of("loadbalancer.ring.servers").ToDictionary(m => (string)m.Tags[ProxyTelemetry.ServerStateAttribute]!, m => m.Value);
        Assert.Equal(0, states["healthy"]);
        Assert.Equal(1, states["unavailable"]);
    }

    [Fact]
    public async Task Every_retry_is_counted_once_with_the_failed_attempts_kind()
    {
        // Three servers that refuse connections, three attempts: two retries, each after a connection_failed attempt.
        await using var proxy = await TestHost.StartProxyAsync(
            Enumerable.Range(1, 3).Select(i => KeyValuePair.Create($"server{i}", new Uri($"http://127.0.0.1:{Ports.Free()}/"))).ToArray(),
            ProxySettings.WithoutProbes());
        using var recorder = new TelemetryTestKit.Recorder(proxy.App.Services.GetRequiredService<IMeterFactory>());
        using var client = proxy.CreateClient();

        using var response = await client.GetAsync("/home?id=retried");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Equal(3, recorder.Of("loadbalancer.server.requests").Length);
        var retries = recorder.Of("loadbalancer.retries");
        Assert.Equal(2, retries.Sum(r => r.Value));
        Assert.All(retries, r => Assert.Equal("connection_failed", r.Tags[ProxyTelemetry.RetryReasonAttribute]));
    }

    [Fact]
    public async Task Adding_a_fourth_server_remaps_about_a_quarter_of_the_keys_and_removing_it_moves_them_back()
    {
        var ring = new TableState();
        var (telemetry, meters, provider) = TelemetryTestKit.CreateTelemetry(ring);
        using var _ = provider;
        using var __ = telemetry;
        using var recorder = new TelemetryTestKit.Recorder(meters);
        var servers = Enumerable.Range(1, 4).Select(i => TelemetryTestKit.Server($"server{i}", 1000 + i)).ToArray();

        ring.Publish(TelemetryTestKit.Snapshot(1, servers[..3]));
        Assert.Null(telemetry.LastRemap);

        ring.Publish(TelemetryTestKit.Snapshot(2, servers));
        var added = await MeasuredAsync(telemetry, 2);
        Assert.Equal((1, 2), (added.From, added.To));
        // Consistent hashing moves only the new server's share (1/4 ± the ring's imbalance at 160 points), never most keys.
        Assert.InRange(added.Share, 0.15, 0.35);

        ring.Publish(TelemetryTestKit.Snapshot(3, servers[..3]));
        // The same keys move back: the share is the same figure.
        Assert.Equal(added.Share, (await MeasuredAsync(telemetry, 3)).Share, precision: 10);

        var gauge = recorder.Of("loadbalancer.ring.keys_remapped");
        Assert.Equal([added.Share, added.Share], gauge.Select(g => g.Value));
        Assert.Equal(3, recorder.Of("loadbalancer.ring.changes").Sum(c => c.Value));
    }

    [Fact]
    public async Task The_remap_is_measured_off_the_change_and_a_burst_is_measured_as_one()
    {
        var ring = new TableState();
        var (telemetry, meters, provider) = TelemetryTestKit.CreateTelemetry(ring);
        using var _ = provider;
        using var __ = telemetry;
        var servers = Enumerable.Range(1, 4).Select(i => TelemetryTestKit.Server($"server{i}", 1000 + i)).ToArray();
        var first = TelemetryTestKit.Snapshot(1, servers[..3]);
        using var gate = new ManualResetEventSlim();
        ring.Publish(new TableSnapshot(new GatedTable(first.Table, gate), first.Hash, 1));

        // Measuring reads the old table, which holds every lookup until the gate opens: a change that measured its
        // remap itself would not return (an admin call holding the membership lock, in the proxy).
        var changes = Task.Run(() =>
        {
            ring.Publish(TelemetryTestKit.Snapshot(2, servers));
            ring.Publish(TelemetryTestKit.Snapshot(3, servers[..3]));
        });
        var returned = await Task.WhenAny(changes, Task.Delay(TimeSpan.FromSeconds(10))) == changes;
        gate.Set();
        Assert.True(returned, "publishing a table waited for its remap to be measured");

        // v1 → v2 was being measured when v3 came; v2 → v3 follows. Had v3 come first, v1 → v3 would move nothing.
        var report = await MeasuredAsync(telemetry, 3);
        Assert.True(report.From is 1 or 2, $"measured from v{report.From}");
        Assert.True(report.From == 2 || report.Share == 0, $"v1 → v3 moved {report.Share}");
    }

    /// <summary>A table whose lookups wait for a gate, so a test can hold whoever measures with it.</summary>
    private sealed class GatedTable(BalancingTable inner, ManualResetEventSlim gate) : BalancingTable(inner.Servers)
    {
        public override int Pick(ulong keyHash, ReadOnlySpan<int> exclude)
        {
            gate.Wait(TimeSpan.FromSeconds(30));
            return inner.Pick(keyHash, exclude);
        }
    }

    /// <summary>Waits (bounded) until the remap of the change to <paramref name="version"/> has been measured.</summary>
    private static async Task<LoadBalancer.Proxy.Telemetry.RemapReport> MeasuredAsync(ProxyTelemetry telemetry, long version)
    {
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (telemetry.LastRemap is not { } report || report.To < version)
        {
            await Task.Delay(10, bound.Token);
        }

        return telemetry.LastRemap!;
    }
}
