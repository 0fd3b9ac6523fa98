using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.Testing;
using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.EndToEnd;

[Collection(EndToEndCollection.Name)]
[Trait(TestCategories.Name, TestCategories.EndToEnd)]
public sealed class ProxyEndToEndTests(AppHostFixture fixture) : IClassFixture<AppHostFixture>
{
    [Fact]
    public async Task Requests_spread_over_all_three_servers_and_each_id_sticks_to_one()
    {
        using var client = fixture.CreateProxyClient();
        const int requests = 3000;
        var owner = new string[requests];

        // Bounded concurrency: fast, and still only a few connections to the local proxy.
        await Parallel.ForEachAsync(Enumerable.Range(0, requests), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (id, ct) =>
        {
            using var response = await client.GetAsync($"/home?id=e2e-{id}", ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var upstream = Assert.Single(response.Headers.GetValues(ProxyRequestHandler.ServerNameHeader));
            var body = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
            Assert.Equal($"Hello from Server: {upstream["server".Length..]}", body.GetProperty("message").GetString());
            owner[id] = upstream;
        });

        var counts = owner.GroupBy(o => o).ToDictionary(g => g.Key, g => g.Count());
        Assert.Equal(AppHostFixture.ServerNames.Order(), counts.Keys.Order());
        Assert.All(counts.Values, count => Assert.InRange(count, requests * 20 / 100, requests * 47 / 100));

        // Repeating an id reaches the same server every time.
        for (var id = 0; id < requests; id += 10)
        {
            for (var repeat = 0; repeat < 3; repeat++)
            {
                using var response = await client.GetAsync($"/home?id=e2e-{id}");
                Assert.Equal(owner[id], Assert.Single(response.Headers.GetValues(ProxyRequestHandler.ServerNameHeader)));
            }
        }
    }

    [Fact]
    public async Task The_proxy_routes_to_each_servers_h2c_endpoint_while_its_http_endpoint_stays_HTTP_1_1()
    {
        using var client = fixture.CreateProxyClient();
        var ring = await client.GetFromJsonAsync<JsonElement>("/ring");
        var addresses = ring.GetProperty("servers").EnumerateArray()
            .ToDictionary(m => m.GetProperty("name").GetString()!, m => new Uri(m.GetProperty("address").GetString()!));

        foreach (var name in AppHostFixture.ServerNames)
        {
            // The h2c port speaks nothing but HTTP/2, so answered requests through it were HTTP/2 requests.
            Assert.Equal(fixture.App.GetEndpoint(name, "h2c").Port, addresses[name].Port);
            using var direct = fixture.App.CreateHttpClient(name, "http");
            using var response = await direct.GetAsync("/home");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal(new Version(1, 1), response.Version);
        }

        using var routed = await client.GetAsync("/home?id=h2c");
        Assert.Equal(HttpStatusCode.OK, routed.StatusCode);
    }

    [Fact]
    public async Task Every_resource_reports_healthy_and_the_proxy_has_every_server_up()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        foreach (var name in AppHostFixture.ServerNames.Append("proxy"))
        {
            await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync(name, cts.Token);
        }

        // Aspire's health check takes any 200, and the proxy answers 200 when Degraded too (some server down): the
        // proxy is healthy only once /health says so, which can follow the resource's state by a probe round.
        using var client = fixture.CreateProxyClient();
        var last = "";
        try
        {
            while (true)
            {
                using var response = await client.GetAsync("/health", cts.Token);
                var body = await response.Content.ReadAsStringAsync(cts.Token);
                last = $"{(int)response.StatusCode} {body}";
                using var document = JsonDocument.Parse(body);
                var health = document.RootElement;
                if (response.StatusCode == HttpStatusCode.OK && health.GetProperty("status").GetString() == "Healthy")
                {
                    var servers = health.GetProperty("servers");
                    Assert.Equal(AppHostFixture.ServerNames.Order(), servers.EnumerateObject().Select(s => s.Name).Order());
                    Assert.All(servers.EnumerateObject(), server => Assert.Equal("up", server.Value.GetProperty("state").GetString()));
                    return;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(250), cts.Token);
            }
        }
        catch (OperationCanceledException) when (cts.IsCancellationRequested)
        {
            Assert.Fail($"The proxy's /health did not report Healthy within a minute; it last answered {last}");
        }
    }

    [Fact]
    public void The_AppHost_does_not_warn_of_a_missing_development_certificate()
    {
        // Everything runs on plain http. Where no trusted ASP.NET Core development certificate exists (CI, a fresh
        // machine) Aspire warns unless told that no resource needs one, and its dashboard shows the warning as a red
        // banner on every page. Where a trusted one exists this holds either way.
        Assert.DoesNotContain(fixture.AppHostLog.Entries,
            entry => entry.Message.Contains("development certificate", StringComparison.OrdinalIgnoreCase));
    }
}
