using System.Text.Json;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;

namespace LoadBalancer.Tests.Forwarding;

/// <summary>The request target reaches the server as the client sent it (see docs/hardening.md, "The request target").</summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class RequestTargetTests
{
    [Theory]
    // YARP re-encoded the decoded path: %2F arrived as %252F (dotnet/yarp#1419), a stray % as %25. (%252F came through
    // by luck: Kestrel decodes it to %2F, and YARP escapes that % again.)
    [InlineData("/p/a%2Fb")]
    [InlineData("/p/a%252Fb?q=a%2Fb")]
    [InlineData("/p/%zz/x")]
    // Kestrel decodes unreserved escapes and removes dot-segments from the path it routes by; the server decides itself.
    [InlineData("/p/%41%7e")]
    [InlineData("/p/x/../y/./z?r=%20+x")]
    public async Task The_request_target_reaches_the_server_as_the_client_sent_it(string target)
    {
        await using var backend = RecordingBackend.Start();
        await using var proxy = await TestHost.StartProxyAsync(backend.Servers, ProxySettings.WithoutProbes());

        var response = await RawHttpClient.SendAsync(proxy.Address, $"GET {target} HTTP/1.1\r\nHost: front.example\r\nConnection: close\r\n\r\n");

        Assert.Equal(200, response.StatusCode);
        Assert.Equal($"GET {target} HTTP/1.1", (await backend.NextRequestAsync()).StartLine);
    }

    [Fact]
    public async Task Over_HTTP_2_to_the_servers_the_path_pseudo_header_is_the_clients_raw_target()
    {
        // An h2c-only Kestrel backend reports :path as it arrived.
        await using var backend = await TestHost.StartBackendAsync(
            context => context.Response.WriteAsync(context.Features.Get<IHttpRequestFeature>()!.RawTarget),
            new Dictionary<string, string?> { ["Kestrel:EndpointDefaults:Protocols"] = "Http2" });
        await using var proxy = await TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["h2c"] = backend.Address },
            ProxySettings.WithoutProbes(("Forwarding:ServerProtocol", "Http2")));

        var response = await RawHttpClient.SendAsync(proxy.Address, "GET /p/a%2Fb/../c?q=%2F HTTP/1.1\r\nHost: front.example\r\nConnection: close\r\n\r\n");

        Assert.Equal("/p/a%2Fb/../c?q=%2F", response.BodyText);
    }

    [Theory]
    // Kestrel takes an absolute-form target's path from Uri.LocalPath, which decodes %2F into a separator.
    [InlineData("/p/a%2Fb?x=%2F", "/p/a%2Fb?x=%2F")]
    [InlineData("", "/")]
    [InlineData("?x=1", "/?x=1")]
    public async Task An_absolute_form_target_reaches_the_server_in_origin_form_with_its_raw_path_and_query(string pathAndQuery, string expected)
    {
        await using var backend = RecordingBackend.Start();
        await using var proxy = await TestHost.StartProxyAsync(backend.Servers, ProxySettings.WithoutProbes());
        var authority = proxy.Address.Authority;

        var response = await RawHttpClient.SendAsync(
            proxy.Address, $"GET http://{authority}{pathAndQuery} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");

        Assert.Equal(200, response.StatusCode);
        var received = await backend.NextRequestAsync();
        Assert.Equal($"GET {expected} HTTP/1.1", received.StartLine);
        Assert.Equal([authority], received.Values("Host"));
    }

    [Fact]
    public async Task OPTIONS_asterisk_is_answered_501_with_a_json_error_instead_of_reaching_a_server_as_OPTIONS_slash()
    {
        await using var backend = RecordingBackend.Start();
        await using var proxy = await TestHost.StartProxyAsync(backend.Servers, ProxySettings.WithoutProbes());

        var asterisk = await RawHttpClient.SendAsync(proxy.Address, "OPTIONS * HTTP/1.1\r\nHost: front.example\r\nConnection: close\r\n\r\n");
        // OPTIONS of a path is forwarded as it is; it is the first request the server sees, so the * never reached it.
        var path = await RawHttpClient.SendAsync(proxy.Address, "OPTIONS /p/x HTTP/1.1\r\nHost: front.example\r\nConnection: close\r\n\r\n");

        Assert.Equal(501, asterisk.StatusCode);
        Assert.Equal(["application/json; charset=utf-8"], asterisk.Values("Content-Type"));
        using var body = JsonDocument.Parse(asterisk.BodyText);
        Assert.Equal("failure", body.RootElement.GetProperty("status").GetString());
        Assert.StartsWith("<Error> OPTIONS * cannot be forwarded", body.RootElement.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal(200, path.StatusCode);
        Assert.Equal("OPTIONS /p/x HTTP/1.1", (await backend.NextRequestAsync()).StartLine);
        Assert.False(backend.HasUnreadRequest);
    }
}
