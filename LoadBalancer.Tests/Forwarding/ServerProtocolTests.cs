using System.Collections.Concurrent;
using System.Text.Json;
using LoadBalancer.Proxy.Health;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancer.Tests.Forwarding;

[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class ServerProtocolTests
{
    // Kestrel serves HTTP/2 on a cleartext endpoint only when the endpoint speaks nothing else (prior knowledge, h2c).
    private static readonly Dictionary<string, string?> H2cOnly = new() { ["Kestrel:EndpointDefaults:Protocols"] = "Http2" };

    [Fact]
    public async Task By_default_the_servers_are_spoken_to_in_HTTP_1_1()
    {
        await using var backend = await TestHost.StartBackendAsync(context => context.Response.WriteAsync(context.Request.Protocol));
        await using var proxy = await TestHost.StartProxyAsync(new Dictionary<string, Uri> { ["server1"] = backend.Address });
        using var client = proxy.CreateClient();

        Assert.Equal("HTTP/1.1", await client.GetStringAsync("/home?id=1"));
    }

    [Fact]
    public async Task With_Http2_requests_share_one_connection_to_an_h2c_only_server_and_heartbeats_speak_HTTP_2_too()
    {
        var connections = new ConcurrentDictionary<string, byte>();
        var heartbeatProtocols = new ConcurrentQueue<string>();
        await using var backend = await TestHost.StartBackendAsync(
            async context =>
            {
                if (context.Request.Path == "/heartbeat")
                {
                    heartbeatProtocols.Enqueue(context.Request.Protocol);
                    return;
                }

                connections.TryAdd(context.Connection.Id, 0);
                await Task.Delay(50); // keeps the requests in flight together
                await context.Response.WriteAsync(context.Request.Protocol);
            },
            H2cOnly);
        await using var proxy = await TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["server1"] = backend.Address },
            new Dictionary<string, string?> { ["Forwarding:ServerProtocol"] = "Http2" },
            services => services.AddSingleton<TimeProvider>(new FakeTimeProvider(DateTimeOffset.UtcNow)));
        using var client = proxy.CreateClient();
        var server = ProxyProbe.Server(proxy, "server1");

        Assert.Equal("HTTP/2", await client.GetStringAsync("/home?id=0"));
        var answers = await Task.WhenAll(Enumerable.Range(1, 40).Select(id => client.GetStringAsync($"/home?id={id}")));

        Assert.All(answers, answer => Assert.Equal("HTTP/2", answer));
        // Forty requests in flight together over HTTP/1.1 would need up to forty connections.
        Assert.Single(connections);

        var checker = proxy.App.Services.GetRequiredService<ServerProbes>();
        await checker.ProbeAllAsync(CancellationToken.None);
        await checker.ProbeAllAsync(CancellationToken.None);
        Assert.NotEmpty(heartbeatProtocols);
        Assert.All(heartbeatProtocols, protocol => Assert.Equal("HTTP/2", protocol));
        Assert.True(server.IsAvailable);
    }

    [Fact]
    public async Task With_Http2_and_a_server_that_speaks_only_HTTP_1_1_the_client_gets_a_JSON_error_not_a_hang()
    {
        await using var backend = await TestHost.StartBackendAsync(context => context.Response.WriteAsync("never"));
        await using var proxy = await TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["server1"] = backend.Address },
            new Dictionary<string, string?> { ["Forwarding:ServerProtocol"] = "Http2", ["Health:Enabled"] = "false" });
        using var client = proxy.CreateClient();

        var response = await client.GetAsync("/home?id=1");

        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal("failure", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("status").GetString());
    }
}
