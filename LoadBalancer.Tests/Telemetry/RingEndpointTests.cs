using System.Net.Http.Headers;
using System.Text.Json;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Proxy.Telemetry;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace LoadBalancer.Tests.Telemetry;

[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class RingEndpointTests
{
    [Fact]
    public async Task Ring_json_lists_servers_health_points_shares_and_requests_served()
    {
        var (proxy, hosts) = await TelemetryTestKit.StartAsync(3);
        await using var _ = proxy;
        try
        {
            using var client = proxy.CreateClient();
            var sent = new Dictionary<string, int>();
            for (var i = 0; i < 90; i++)
            {
                using var response = await client.GetAsync($"/home?id=ring-{i}");
                var upstream = response.Headers.GetValues(ProxyRequestHandler.ServerNameHeader).Single();
                sent[upstream] = sent.GetValueOrDefault(upstream) + 1;
            }

            using var ring = await client.GetAsync("/ring");
            Assert.Equal(HttpStatusCode.OK, ring.StatusCode);
            Assert.Equal("application/json", ring.Content.Headers.ContentType!.MediaType);
            var report = await ring.Content.ReadFromJsonAsync<JsonElement>();

            Assert.Equal(1, report.GetProperty("version").GetInt64());
            Assert.Equal(nameof(HashRing), report.GetProperty("table").GetString());
            Assert.Equal("XxHash3", report.GetProperty("hashFunction").GetString());
            Assert.Equal(3, report.GetProperty("healthy").GetInt32());
            Assert.Equal(3, report.GetProperty("total").GetInt32());
            Assert.Equal(90, report.GetProperty("served").GetInt64());

            var servers = report.GetProperty("servers").EnumerateArray().ToArray();
            Assert.Equal(["server1", "server2", "server3"], servers.Select(m => m.GetProperty("name").GetString()));
            for (var i = 0; i < 3; i++)
            {
                var server = servers[i];
                Assert.True(server.GetProperty("healthy").GetBoolean());
                Assert.Empty(server.GetProperty("unavailable").EnumerateArray());
                Assert.Equal(hosts[i].Address, new Uri(server.GetProperty("address").GetString()!));
                Assert.Equal(BalancingOptions.DefaultVirtualNodes, server.GetProperty("virtualNodes").GetInt32());
                Assert.InRange(server.GetProperty("share").GetDouble(), 0.2, 0.47);
                Assert.Equal(sent.GetValueOrDefault($"server{i + 1}"), server.GetProperty("served").GetInt64());
                Assert.Equal(0, server.GetProperty("inFlight").GetInt32());
            }

            Assert.Equal(1.0, servers.Sum(m => m.GetProperty("share").GetDouble()), precision: 9);

            var points = report.GetProperty("points").EnumerateArray().ToArray();
            Assert.Equal(3 * BalancingOptions.DefaultVirtualNodes, points.Length);
            var positions = points.Select(p => p.GetProperty("position").GetDouble()).ToArray();
            Assert.Equal(positions.Order(), positions);
            Assert.All(positions, p => Assert.InRange(p, 0, 1));
            Assert.All(Enumerable.Range(0, 3), m => Assert.Equal(BalancingOptions.DefaultVirtualNodes, points.Count(p => p.GetProperty("server").GetInt32() == m)));

            // The page polls without points.
            var light = await client.GetFromJsonAsync<JsonElement>("/ring?points=false");
            Assert.False(light.TryGetProperty("points", out var _));
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
    public async Task A_server_held_out_shows_as_unavailable_with_its_reason()
    {
        await using var proxy = await TestHost.StartProxyAsync(
        [
            KeyValuePair.Create("server1", new Uri("http://127.0.0.1:9/")),
            KeyValuePair.Create("server2", new Uri("http://127.0.0.1:10/")),
        ]);
        var server = proxy.App.Services.GetRequiredService<Proxy.Balancing.TableState>().Current!.Table.Servers[1];
        server.SetUnavailable(UnavailableReasons.CircuitBreaker, true);

        using var client = proxy.CreateClient();
        var report = await client.GetFromJsonAsync<JsonElement>("/ring");
        Assert.Equal(1, report.GetProperty("healthy").GetInt32());
        var second = report.GetProperty("servers")[1];
        Assert.False(second.GetProperty("healthy").GetBoolean());
        Assert.Equal(["CircuitBreaker"], second.GetProperty("unavailable").EnumerateArray().Select(r => r.GetString()));
    }

    [Theory]
    [InlineData("/ring", "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8", true)]
    [InlineData("/ring", "application/json", false)]
    [InlineData("/ring", "*/*", false)]
    [InlineData("/ring/view", "*/*", true)]
    public async Task A_browser_gets_the_page_and_a_client_gets_json(string path, string accept, bool html)
    {
        await using var proxy = await TestHost.StartProxyAsync([KeyValuePair.Create("server1", new Uri("http://127.0.0.1:9/"))]);
        using var client = proxy.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Accept.ParseAdd(accept);
        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(html ? "text/html" : "application/json", response.Content.Headers.ContentType!.MediaType);
        var body = await response.Content.ReadAsStringAsync();
        if (html)
        {
            // Self-contained: the page loads nothing but /ring.
            Assert.Contains("<svg", body, StringComparison.Ordinal);
            Assert.DoesNotContain("src=\"http", body, StringComparison.Ordinal);
            Assert.DoesNotContain("href=\"http", body, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal("server1", JsonDocument.Parse(body).RootElement.GetProperty("servers")[0].GetProperty("name").GetString());
        }
    }

    [Fact]
    public void Exact_ring_shares_agree_with_where_keys_land()
    {
        var servers = Enumerable.Range(1, 5).Select(i => TelemetryTestKit.Server($"s{i}", 2000 + i)).ToArray();
        var snapshot = TelemetryTestKit.Snapshot(1, servers);
        var shares = snapshot.Table.Shares();
        Assert.Equal(1.0, shares.Sum(), precision: 9);

        var counts = new int[servers.Length];
        var random = new Random(7);
        const int samples = 200_000;
        for (var i = 0; i < samples; i++)
        {
            counts[snapshot.Table.Pick((ulong)random.NextInt64(long.MinValue, long.MaxValue), [])]++;
        }

        for (var m = 0; m < servers.Length; m++)
        {
            Assert.Equal(shares[m], (double)counts[m] / samples, precision: 2);
        }
    }

    [Fact]
    public void The_default_shares_sample_the_table_for_tables_without_geometry()
    {
        var servers = BalancingTable.Sort([TelemetryTestKit.Server("a", 1), TelemetryTestKit.Server("b", 2)]);
        var table = new HalvesTable(servers);
        Assert.Equal([0.5, 0.5], table.Shares().Select(s => Math.Round(s, 3)));
        Assert.Empty(table.Points);
    }

    /// <summary>A table of another algorithm: the lower half of the space to server 0, the upper to server 1.</summary>
    private sealed class HalvesTable(System.Collections.Immutable.ImmutableArray<BackendServer> servers) : BalancingTable(servers)
    {
        public override int Pick(ulong keyHash, ReadOnlySpan<int> exclude) => keyHash < (1UL << 63) ? 0 : 1;
    }

    [Theory]
    [InlineData("POST", "/ring")]
    [InlineData("DELETE", "/ring")]
    [InlineData("PUT", "/ring/view")]
    public async Task Another_method_gets_a_json_405_naming_get_and_head_and_is_not_forwarded(string method, string path)
    {
        await using var proxy = await TestHost.StartProxyAsync([KeyValuePair.Create("server1", new Uri("http://127.0.0.1:40001"))]);
        using var client = proxy.CreateClient();

        using var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal(["GET", "HEAD"], response.Content.Headers.Allow.Order());
        Assert.False(response.Headers.Contains(ProxyRequestHandler.ServerNameHeader));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal($"<Error> {path} accepts GET and HEAD only, not {method}", body.GetProperty("message").GetString());
        Assert.Equal("failure", body.GetProperty("status").GetString());
    }

    [Theory]
    [InlineData("/ring", "application/json")]
    [InlineData("/ring/view", "text/html")]
    public async Task Head_answers_like_get_without_a_body(string path, string mediaType)
    {
        await using var proxy = await TestHost.StartProxyAsync([KeyValuePair.Create("server1", new Uri("http://127.0.0.1:40001"))]);
        using var client = proxy.CreateClient();

        using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, path));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(mediaType, response.Content.Headers.ContentType!.MediaType);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }
}
