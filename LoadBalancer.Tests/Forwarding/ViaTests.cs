using System.Text.Json;
using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Tests.Infrastructure;
using LoadBalancer.Tests.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;
using System.Diagnostics.Metrics;

namespace LoadBalancer.Tests.Forwarding;

/// <summary>The proxy's Via entry and the loop check it makes possible (see docs/hardening.md, "Forwarding loops").</summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class ViaTests
{
    [Theory]
    [InlineData("HTTP/1.1", "", null, "1.1 loadbalancer")]
    [InlineData("HTTP/1.0", "", null, "1.0 loadbalancer")]
    [InlineData("HTTP/1.1", "Via: 1.0 front, 1.1 edge (Apache/2.4, mod_proxy)\r\n", null, "1.0 front, 1.1 edge (Apache/2.4, mod_proxy), 1.1 loadbalancer")]
    [InlineData("HTTP/1.1", "Via: 1.0 a\r\nVia: 1.1 b\r\n", null, "1.0 a, 1.1 b, 1.1 loadbalancer")]
    [InlineData("HTTP/1.1", "", "lb-eu1", "1.1 lb-eu1")]
    public async Task A_forwarded_request_carries_the_proxys_Via_entry_after_the_clients_own(string version, string clientVia, string? pseudonym, string expected)
    {
        await using var backend = RecordingBackend.Start();
        var settings = ProxySettings.WithoutProbes();
        if (pseudonym is not null)
        {
            settings["Forwarding:Via"] = pseudonym;
        }

        await using var proxy = await TestHost.StartProxyAsync(backend.Servers, settings);

        var response = await RawHttpClient.SendAsync(proxy.Address, $"GET /p {version}\r\nHost: front.example\r\n{clientVia}Connection: close\r\n\r\n");

        Assert.Equal(200, response.StatusCode);
        Assert.Equal([expected], (await backend.NextRequestAsync()).Values("Via"));
        // Responses get no Via of the proxy's (a gateway may leave them out; see the docs).
        Assert.Empty(response.Values("Via"));
    }

    [Theory]
    [InlineData("1.1 loadbalancer", true)]
    [InlineData("1.0 front, HTTP/2 LoadBalancer (again)", true)]
    [InlineData("1.1 front (lb, one), 1.1 loadbalancer", true)]
    // Not this proxy's entry: the name inside a comment, as a protocol, or as part of another name.
    [InlineData("1.1 front (via loadbalancer, 1.1 loadbalancer)", false)]
    [InlineData("loadbalancer/1.1 edge", false)]
    [InlineData("1.1 loadbalancer2, 1.1 loadbalancer:80", false)]
    public async Task A_request_whose_Via_already_names_this_proxy_is_answered_508_instead_of_forwarded(string via, bool loop)
    {
        await using var backend = RecordingBackend.Start();
        await using var proxy = await TestHost.StartProxyAsync(backend.Servers, ProxySettings.WithoutProbes());

        var response = await RawHttpClient.SendAsync(proxy.Address, $"GET /p HTTP/1.1\r\nHost: front.example\r\nVia: {via}\r\nConnection: close\r\n\r\n");
        var next = await RawHttpClient.SendAsync(proxy.Address, "GET /next HTTP/1.1\r\nHost: front.example\r\nConnection: close\r\n\r\n");

        Assert.Equal(200, next.StatusCode);
        if (loop)
        {
            Assert.Equal(508, response.StatusCode);
            Assert.Equal(["application/json; charset=utf-8"], response.Values("Content-Type"));
            using var body = JsonDocument.Parse(response.BodyText);
            Assert.Equal("failure", body.RootElement.GetProperty("status").GetString());
            Assert.Equal("<Error> Forwarding loop: the request already passed through this proxy (its Via names loadbalancer)", body.RootElement.GetProperty("message").GetString());
            // Nothing was forwarded: the first request the server sees is the next one.
            Assert.Equal("GET /next HTTP/1.1", (await backend.NextRequestAsync()).StartLine);
        }
        else
        {
            Assert.Equal(200, response.StatusCode);
            Assert.Equal("GET /p HTTP/1.1", (await backend.NextRequestAsync()).StartLine);
        }
    }

    [Fact]
    public async Task A_loop_through_another_proxy_ends_at_the_first_proxy_seen_twice_with_508()
    {
        // Front (loadbalancer) forwards to tier2, whose only server is front again.
        int frontPort = Ports.Free(), tier2Port = Ports.Free();
        await using var front = await TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["tier2"] = new($"http://127.0.0.1:{tier2Port}/") },
            ProxySettings.WithoutProbes(("Kestrel:Endpoints:Http:Url", $"http://127.0.0.1:{frontPort}")));
        await using var tier2 = await TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["front"] = new($"http://127.0.0.1:{frontPort}/") },
            ProxySettings.WithoutProbes(("Kestrel:Endpoints:Http:Url", $"http://127.0.0.1:{tier2Port}"), ("Forwarding:Via", "tier2")));
        using var client = front.CreateClient();
        client.Timeout = TimeSpan.FromSeconds(10);

        using var response = await client.GetAsync("/home?id=1");

        Assert.Equal(HttpStatusCode.LoopDetected, response.StatusCode);
        Assert.Equal("<Error> Forwarding loop: the request already passed through this proxy (its Via names loadbalancer)", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
        // The 508 came from front's second visit, relayed by tier2 and then by front.
        Assert.Equal("tier2", response.Headers.GetValues(ProxyRequestHandler.ServerNameHeader).Single());
    }

    [Fact]
    public async Task Loops_are_counted_and_warned_about_at_most_once_a_minute()
    {
        await using var backend = RecordingBackend.Start();
        var logs = new LogCollector();
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var proxy = await TestHost.StartProxyAsync(backend.Servers, ProxySettings.WithoutProbes(), services =>
        {
            services.AddSingleton<TimeProvider>(time);
            services.AddSingleton<ILoggerProvider>(logs);
        });
        using var recorder = new TelemetryTestKit.Recorder(proxy.App.Services.GetRequiredService<IMeterFactory>());
        const string Looped = "GET /p HTTP/1.1\r\nHost: front.example\r\nVia: 1.1 loadbalancer\r\nConnection: close\r\n\r\n";

        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(508, (await RawHttpClient.SendAsync(proxy.Address, Looped)).StatusCode);
        }

        time.Advance(TimeSpan.FromSeconds(61));
        Assert.Equal(508, (await RawHttpClient.SendAsync(proxy.Address, Looped)).StatusCode);

        Assert.Equal(4, recorder.Of(ForwardingGuard.LoopsName).Sum(m => m.Value));
        var warnings = logs.Messages.Where(m => m.StartsWith("Forwarding loop:", StringComparison.Ordinal)).ToArray();
        Assert.Equal(2, warnings.Length);
        Assert.Contains("0 more since the last warning", warnings[0], StringComparison.Ordinal);
        Assert.Contains("2 more since the last warning", warnings[1], StringComparison.Ordinal);
        Assert.Contains("Forwarding:Via", warnings[0], StringComparison.Ordinal);
        Assert.False(backend.HasUnreadRequest);
    }

    [Fact]
    public async Task An_empty_Via_setting_sends_no_Via_and_checks_no_loops()
    {
        await using var backend = RecordingBackend.Start();
        await using var proxy = await TestHost.StartProxyAsync(backend.Servers, ProxySettings.WithoutProbes(("Forwarding:Via", "")));

        var response = await RawHttpClient.SendAsync(proxy.Address, "GET /p HTTP/1.1\r\nHost: front.example\r\nVia: 1.1 loadbalancer\r\nConnection: close\r\n\r\n");
        await RawHttpClient.SendAsync(proxy.Address, "GET /q HTTP/1.1\r\nHost: front.example\r\nConnection: close\r\n\r\n");

        Assert.Equal(200, response.StatusCode);
        Assert.Equal(["1.1 loadbalancer"], (await backend.NextRequestAsync()).Values("Via"));
        Assert.Empty((await backend.NextRequestAsync()).Values("Via"));
    }

    [Theory]
    [InlineData("two words")]
    [InlineData("lb:80")]
    [InlineData("lb(1)")]
    [InlineData("läufer")]
    [InlineData("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa")]
    public async Task A_Via_that_is_not_a_token_stops_the_proxy_at_start(string via)
    {
        var error = await Record.ExceptionAsync(() => TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["a"] = new("http://127.0.0.1:40001") },
            ProxySettings.WithoutProbes(("Forwarding:Via", via))));

        Assert.NotNull(error);
        Assert.Contains("Forwarding:Via must be an RFC 9110 token", error.ToString(), StringComparison.Ordinal);
    }
}
