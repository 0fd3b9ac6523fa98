using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Telemetry;

[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class PrometheusEndpointTests
{
    [Fact]
    public async Task The_scrape_endpoint_serves_the_proxys_metrics_per_server_in_prometheus_text()
    {
        await using var server = await TestHost.StartServerAsync("1");
        // A server name no other test uses: the exporter listens to every meter named LoadBalancer.Proxy in the
        // process, and other tests' proxies run beside this one (in production a process holds one proxy).
        await using var proxy = await TestHost.StartProxyAsync(
            [KeyValuePair.Create("scraped1", server.Address)],
            new Dictionary<string, string?> { ["Telemetry:PrometheusPath"] = "/metrics", ["Health:Enabled"] = "false" });
        using var client = proxy.CreateClient();
        for (var i = 0; i < 5; i++)
        {
            using var answer = await client.GetAsync($"/home?id={i}");
            Assert.Equal(HttpStatusCode.OK, answer.StatusCode);
        }

        using var response = await client.GetAsync("/metrics");
        var text = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("text/plain", response.Content.Headers.ContentType!.MediaType, StringComparison.Ordinal);
        Assert.False(response.Headers.Contains(ProxyRequestHandler.ServerNameHeader)); // served by the proxy, not forwarded
        Assert.Contains("\nloadbalancer_server_requests_total{otel_scope_name=\"LoadBalancer.Proxy\",loadbalancer_outcome=\"success\",loadbalancer_server_name=\"scraped1\"} 5\n", text, StringComparison.Ordinal);
        Assert.Contains("\nloadbalancer_server_available{otel_scope_name=\"LoadBalancer.Proxy\",loadbalancer_server_name=\"scraped1\"} 1\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_path_metrics_is_an_ordinary_path_forwarded_to_the_servers()
    {
        await using var server = await TestHost.StartServerAsync("1");
        await using var proxy = await TestHost.StartProxyAsync([KeyValuePair.Create("server1", server.Address)]);
        using var client = proxy.CreateClient();

        using var response = await client.GetAsync("/metrics");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode); // the server's answer to a path it does not have
        Assert.Equal("server1", ProxyProbe.ServerOf(response));
    }

    [Fact]
    public async Task A_path_that_is_not_one_stops_the_proxy_at_start()
    {
        var error = await Record.ExceptionAsync(() => TestHost.StartProxyAsync(
            [KeyValuePair.Create("server1", new Uri("http://127.0.0.1:40001"))],
            new Dictionary<string, string?> { ["Telemetry:PrometheusPath"] = "metrics page" }));

        Assert.NotNull(error);
        Assert.Contains("Telemetry:PrometheusPath must be a path", error.ToString(), StringComparison.Ordinal);
    }
}
