using LoadBalancer.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace LoadBalancer.Tests.Forwarding;

[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class ForwardedHeadersTests
{
    [Theory]
    // Set (the default): the client's own X-Forwarded-* are replaced, so a client cannot pass off another address.
    [InlineData(null, "127.0.0.1", "http", "{host}")]
    [InlineData("Set", "127.0.0.1", "http", "{host}")]
    // Append: behind a trusted proxy, its values are kept and this hop's added.
    [InlineData("Append", "203.0.113.9, 127.0.0.1", "https, http", "front.example, {host}")]
    [InlineData("Remove", "", "", "")]
    [InlineData("Off", "203.0.113.9", "https", "front.example")]
    public async Task The_server_sees_the_clients_address_scheme_and_host_as_configured(string? action, string forFor, string proto, string host)
    {
        string[]? seen = null;
        await using var echo = await TestHost.StartBackendAsync(context =>
        {
            if (context.Request.Path != "/home")
            {
                return Task.CompletedTask; // the proxy's heartbeats
            }

            seen = [context.Request.Headers["X-Forwarded-For"].ToString(), context.Request.Headers["X-Forwarded-Proto"].ToString(), context.Request.Headers["X-Forwarded-Host"].ToString()];
            return Task.CompletedTask;
        });
        var settings = new Dictionary<string, string?>();
        if (action is not null)
        {
            settings["Forwarding:XForwarded"] = action;
        }

        await using var proxy = await TestHost.StartProxyAsync(new Dictionary<string, Uri> { ["echo"] = echo.Address }, settings);
        using var client = proxy.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/home?id=1");
        request.Headers.Add("X-Forwarded-For", "203.0.113.9");
        request.Headers.Add("X-Forwarded-Proto", "https");
        request.Headers.Add("X-Forwarded-Host", "front.example");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var proxyHost = proxy.Address.Authority;
        Assert.Equal(new[] { forFor, proto, host.Replace("{host}", proxyHost, StringComparison.Ordinal) }, seen);
    }

    [Theory]
    // The other headers that claim the client's address follow the same action, so none can be forged while the
    // X-Forwarded-* are set: RFC 7239 Forwarded (this hop's element) and X-Real-IP (the client's address).
    [InlineData(null, "proto=http;host=\"{host}\";for=127.0.0.1", "127.0.0.1")]
    [InlineData("Set", "proto=http;host=\"{host}\";for=127.0.0.1", "127.0.0.1")]
    // Append: behind a trusted proxy; X-Real-IP, a single address, is that proxy's to set.
    [InlineData("Append", "for=203.0.113.9, proto=http;host=\"{host}\";for=127.0.0.1", "203.0.113.9")]
    [InlineData("Remove", "", "")]
    [InlineData("Off", "for=203.0.113.9", "203.0.113.9")]
    public async Task Forwarded_and_X_Real_IP_follow_the_X_Forwarded_action(string? action, string forwarded, string realIp)
    {
        string[]? seen = null;
        await using var echo = await TestHost.StartBackendAsync(context =>
        {
            seen = [context.Request.Headers["Forwarded"].ToString(), context.Request.Headers["X-Real-IP"].ToString()];
            return Task.CompletedTask;
        });
        var settings = ProxySettings.WithoutProbes();
        if (action is not null)
        {
            settings["Forwarding:XForwarded"] = action;
        }

        await using var proxy = await TestHost.StartProxyAsync(new Dictionary<string, Uri> { ["echo"] = echo.Address }, settings);
        using var client = proxy.CreateClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, "/home?id=1");
        request.Headers.TryAddWithoutValidation("Forwarded", "for=203.0.113.9");
        request.Headers.TryAddWithoutValidation("X-Real-IP", "203.0.113.9");

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(new[] { forwarded.Replace("{host}", proxy.Address.Authority, StringComparison.Ordinal), realIp }, seen);
    }

    [Fact]
    public async Task An_unknown_action_stops_the_proxy_at_start()
    {
        var error = await Record.ExceptionAsync(() => TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["a"] = new("http://127.0.0.1:40001") },
            new Dictionary<string, string?> { ["Forwarding:XForwarded"] = "Sometimes" }));

        Assert.NotNull(error);
        Assert.Contains("Sometimes", error.ToString(), StringComparison.Ordinal);
    }
}
