using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Forwarding;

/// <summary>One Host header upstream, always (see docs/hardening.md, "The Host header").</summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class HostHeaderTests
{
    [Fact]
    public async Task The_clients_Host_reaches_the_server_alone()
    {
        await using var backend = RecordingBackend.Start();
        await using var proxy = await TestHost.StartProxyAsync(backend.Servers, ProxySettings.WithoutProbes());

        await RawHttpClient.SendAsync(proxy.Address, "GET /p HTTP/1.1\r\nHost: front.example:8443\r\nConnection: close\r\n\r\n");

        Assert.Equal(["front.example:8443"], (await backend.NextRequestAsync()).Values("Host"));
    }

    [Theory]
    // An empty Host (RFC 9112 allows it for a target without authority) went as two: the server's and the empty one.
    [InlineData("HTTP/1.1", "Host: \r\n")]
    [InlineData("HTTP/1.1", "Host:\r\n")]
    // HTTP/1.0 needs no Host at all.
    [InlineData("HTTP/1.0", "")]
    public async Task A_request_without_a_usable_Host_reaches_the_server_with_one_Host_naming_the_server(string version, string host)
    {
        await using var backend = RecordingBackend.Start();
        await using var proxy = await TestHost.StartProxyAsync(backend.Servers, ProxySettings.WithoutProbes());

        var response = await RawHttpClient.SendAsync(proxy.Address, $"GET /p {version}\r\n{host}Connection: close\r\n\r\n");

        Assert.Equal(200, response.StatusCode);
        Assert.Equal([backend.Address.Authority], (await backend.NextRequestAsync()).Values("Host"));
    }
}
