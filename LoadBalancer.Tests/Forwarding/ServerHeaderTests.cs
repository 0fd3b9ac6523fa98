using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Forwarding;

/// <summary>The proxy names no server software; a server's own Server header is its own business.</summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class ServerHeaderTests
{
    [Fact]
    public async Task The_proxys_own_answers_carry_no_Server_header_and_a_servers_own_passes_once()
    {
        await using var backend = RecordingBackend.Start("Server: backend/1.0\r\n");
        await using var proxy = await TestHost.StartProxyAsync(backend.Servers, ProxySettings.WithoutProbes());
        await using var empty = await TestHost.StartProxyAsync([], ProxySettings.WithoutProbes());

        var forwarded = await RawHttpClient.SendAsync(proxy.Address, "GET /p HTTP/1.1\r\nHost: front.example\r\nConnection: close\r\n\r\n");
        var ring = await RawHttpClient.SendAsync(proxy.Address, "GET /ring HTTP/1.1\r\nHost: front.example\r\nConnection: close\r\n\r\n");
        var noServer = await RawHttpClient.SendAsync(empty.Address, "GET /p HTTP/1.1\r\nHost: front.example\r\nConnection: close\r\n\r\n");

        Assert.Equal(200, forwarded.StatusCode);
        Assert.Equal(["backend/1.0"], forwarded.Values("Server"));
        Assert.Equal(200, ring.StatusCode);
        Assert.Empty(ring.Values("Server"));
        Assert.Equal(503, noServer.StatusCode);
        Assert.Empty(noServer.Values("Server"));
    }
}
