using System.Text.Json;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using LoadBalancer.Proxy;
using LoadBalancer.Proxy.Telemetry;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.EndToEnd;

[Collection(EndToEndCollection.Name)]
[Trait(TestCategories.Name, TestCategories.EndToEnd)]
public sealed class ObservabilityEndToEndTests(ObservabilityAppHostFixture fixture) : IClassFixture<ObservabilityAppHostFixture>
{
    [Fact]
    public async Task The_proxy_ring_lists_every_server_as_healthy()
    {
        using var client = fixture.CreateProxyClient();
        Assert.NotEqual(5000, client.BaseAddress!.Port);
        for (var i = 0; i < 30; i++)
        {
            using var response = await client.GetAsync($"/home?id=obs-{i}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        var report = await client.GetFromJsonAsync<JsonElement>(RingEndpoints.Path);
        var servers = report.GetProperty("servers").EnumerateArray().ToArray();
        Assert.Equal(AppHostFixture.ServerNames, servers.Select(m => m.GetProperty("name").GetString()));
        Assert.All(servers, m => Assert.True(m.GetProperty("healthy").GetBoolean()));
        Assert.Equal(AppHostFixture.ServerCount, report.GetProperty("healthy").GetInt32());
        Assert.Equal(30, servers.Sum(m => m.GetProperty("served").GetInt64()));
        Assert.Equal(1.0, servers.Sum(m => m.GetProperty("share").GetDouble()), precision: 9);
    }

    [Fact]
    public async Task The_dashboard_answers_and_the_proxy_exports_to_it()
    {
        await fixture.WaitForDashboardAsync();
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
    public async Task The_dashboard_shows_a_request_as_one_trace_from_proxy_to_the_server_that_answered()
    {
        await fixture.WaitForDashboardAsync();
        using var proxyClient = fixture.CreateProxyClient();
        for (var i = 0; i < 5; i++)
        {
            using var response = await proxyClient.GetAsync($"/home?id=dashboard-{i}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // The dashboard's telemetry API (OTLP JSON); spans arrive in batches every few seconds.
        var dashboard = fixture.App.GetEndpoint(ObservabilityAppHostFixture.DashboardResource, "http");
        using var http = new HttpClient { BaseAddress = dashboard, Timeout = TimeSpan.FromSeconds(30) };
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        Span proxySpan;
        while (true)
        {
            // 404 until the proxy's first export reaches the dashboard.
            var spans = await GetSpansAsync(http, "/api/telemetry/spans?resource=proxy", cts.Token);
            // ASP.NET Core's span of the incoming request carries the routing decision.
            var found = spans.FirstOrDefault(s => s.Kind == 2 && s.Attributes.ContainsKey(ProxyTelemetry.ServerAttribute));
            if (found is not null)
            {
                proxySpan = found;
                break;
            }

            await Task.Delay(500, cts.Token);
        }

        Assert.Equal("Microsoft.AspNetCore", proxySpan.Scope);
        Assert.Matches("^[0-9a-f]{16}$", proxySpan.Attributes[ProxyTelemetry.KeyHashAttribute]);
        var server = proxySpan.Attributes[ProxyTelemetry.ServerAttribute];

        // The whole trace: the proxy's spans, then the chosen server's own span below YARP's HttpClient span.
        Span[] trace = [];
        while (!trace.Any(s => s.Resource == server && s.Kind == 2))
        {
            await Task.Delay(500, cts.Token);
            trace = await GetSpansAsync(http, $"/api/telemetry/traces/{proxySpan.TraceId}", cts.Token);
        }

        // A first attempt that succeeded has no span of its own: the server's span descends from the proxy span
        // through YARP's HttpClient span.
        Assert.DoesNotContain(trace, s => s.Name == ProxyTelemetry.AttemptActivityName);
        var serverSpan = trace.Single(s => s.Resource == server && s.Kind == 2);
        var byId = trace.ToDictionary(s => s.SpanId);
        var ancestors = new List<string>();
        for (var at = serverSpan; at.ParentSpanId is { } parent && byId.TryGetValue(parent, out var next); at = next)
        {
            ancestors.Add(next.SpanId);
        }

        Assert.Contains(trace, s => s.Kind == 3 && s.ParentSpanId == proxySpan.SpanId && ancestors.Contains(s.SpanId));
        Assert.Contains(proxySpan.SpanId, ancestors);
    }

    /// <summary>One span of the dashboard's OTLP JSON, with the resource (service) that sent it.</summary>
    private sealed record Span(string Resource, string Scope, string Name, int Kind, string TraceId, string SpanId, string? ParentSpanId, Dictionary<string, string> Attributes);

    private static async Task<Span[]> GetSpansAsync(HttpClient http, string path, CancellationToken cancellationToken)
    {
        using var response = await http.GetAsync(path, cancellationToken);
        if (response.StatusCode == HttpStatusCode.NotFound)
        {
            return [];
        }

        response.EnsureSuccessStatusCode();
        return Spans(await response.Content.ReadFromJsonAsync<JsonElement>(cancellationToken));
    }

    private static Span[] Spans(JsonElement response)
    {
        var result = new List<Span>();
        foreach (var resourceSpans in response.GetProperty("data").GetProperty("resourceSpans").EnumerateArray())
        {
            var resource = Attributes(resourceSpans.GetProperty("resource")).GetValueOrDefault("service.name", "?");
            foreach (var scopeSpans in resourceSpans.GetProperty("scopeSpans").EnumerateArray())
            {
                var scope = scopeSpans.GetProperty("scope").GetProperty("name").GetString()!;
                foreach (var span in scopeSpans.GetProperty("spans").EnumerateArray())
                {
                    result.Add(new Span(
                        resource,
                        scope,
                        span.GetProperty("name").GetString()!,
                        span.GetProperty("kind").GetInt32(),
                        span.GetProperty("traceId").GetString()!,
                        span.GetProperty("spanId").GetString()!,
                        span.TryGetProperty("parentSpanId", out var parent) ? parent.GetString() : null,
                        Attributes(span)));
                }
            }
        }

        return [.. result];
    }

    private static Dictionary<string, string> Attributes(JsonElement element)
    {
        var attributes = new Dictionary<string, string>();
        if (element.TryGetProperty("attributes", out var list))
        {
            foreach (var attribute in list.EnumerateArray())
            {
                var value = attribute.GetProperty("value");
                attributes[attribute.GetProperty("key").GetString()!] = value.EnumerateObject().First().Value.ToString();
            }
        }

        return attributes;
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
