using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using LoadBalancer.Proxy.Telemetry;

namespace LoadBalancer.Tests.EndToEnd;

[Collection(EndToEndCollection.Name)]
public sealed class ObservabilityEndToEndTests(ObservabilityAppHostFixture fixture) : IClassFixture<ObservabilityAppHostFixture>
{
    [Fact]
    public async Task The_proxy_ring_lists_every_server_as_healthy()
    {
        using var client = fixture.App.CreateHttpClient("proxy", "http");
        client.Timeout = TimeSpan.FromSeconds(30);
        for (var i = 0; i < 30; i++)
        {
            using var response = await client.GetAsync($"/home?id=obs-{i}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var report = await client.GetFromJsonAsync<JsonElement>(RingEndpoints.Path);
        var members = report.GetProperty("members").EnumerateArray().ToArray();
        Assert.Equal(AppHostFixture.ServerNames, members.Select(m => m.GetProperty("name").GetString()));
        Assert.All(members, m => Assert.True(m.GetProperty("healthy").GetBoolean()));
        Assert.Equal(AppHostFixture.ServerCount, report.GetProperty("healthy").GetInt32());
        Assert.Equal(30, members.Sum(m => m.GetProperty("served").GetInt64()));
        Assert.Equal(1.0, members.Sum(m => m.GetProperty("share").GetDouble()), precision: 9);
    }

    [Fact]
    public async Task The_dashboard_answers_and_receives_the_proxy_telemetry()
    {
        var dashboard = fixture.App.GetEndpoint(ObservabilityAppHostFixture.DashboardResource, "http");
        // A random port, not the placeholder the fixture passed: tests never take the well-known ports.
        Assert.NotEqual(18888, dashboard.Port);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var response = await http.GetAsync(dashboard);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Contains("Aspire", await response.Content.ReadAsStringAsync(), StringComparison.OrdinalIgnoreCase);

        // The proxy exports over OTLP to that dashboard (ServiceDefaults turns the exporter on when this is set).
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var proxy = await fixture.App.ResourceNotifications.WaitForResourceAsync(
            "proxy", e => e.Snapshot.EnvironmentVariables.Any(v => v.Name == "OTEL_EXPORTER_OTLP_ENDPOINT"), cts.Token);
        var otlp = proxy.Snapshot.EnvironmentVariables.First(v => v.Name == "OTEL_EXPORTER_OTLP_ENDPOINT").Value;
        Assert.StartsWith("http", otlp, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_proxy_resource_links_the_live_ring_page()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var snapshot = await fixture.App.ResourceNotifications.WaitForResourceAsync(
            "proxy", e => e.Snapshot.Urls.Any(u => u.Url.EndsWith("/ring/view", StringComparison.Ordinal)), cts.Token);
        var link = snapshot.Snapshot.Urls.First(u => u.Url.EndsWith("/ring/view", StringComparison.Ordinal));
        Assert.Equal("Ring (live)", link.DisplayProperties.DisplayName);

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        using var page = await http.GetAsync(link.Url);
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType!.MediaType);
    }
}
