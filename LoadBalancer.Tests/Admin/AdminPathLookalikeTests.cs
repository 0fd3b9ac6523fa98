using System.Collections.Concurrent;
using System.Text.Json;
using LoadBalancer.Proxy.Admin;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using static LoadBalancer.Tests.Infrastructure.ProxySettings;

namespace LoadBalancer.Tests.Admin;

/// <summary>
/// The admin paths are never forwarded, also in the forms a server might normalise to them: those get a 400 JSON
/// answer and the server sees nothing; ordinary paths that only resemble them are still forwarded.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class AdminPathLookalikeTests : IAsyncLifetime
{
    private readonly ConcurrentQueue<string> _seen = new();
    private TestHost _backend = null!;
    private TestHost _proxy = null!;

    public async Task InitializeAsync()
    {
        _backend = await TestHost.StartBackendAsync(context =>
        {
            _seen.Enqueue(context.Request.Path.Value ?? "");
            return context.Response.WriteAsync("backend");
        });
        _proxy = await TestHost.StartProxyAsync(new Dictionary<string, Uri> { ["backend"] = _backend.Address }, WithoutProbes());
    }

    public async Task DisposeAsync()
    {
        await _proxy.DisposeAsync();
        await _backend.DisposeAsync();
    }

    [Theory]
    // Repeated slashes (nginx merge_slashes, Spring).
    [InlineData("//rep", "/rep")]
    [InlineData("///rep", "/rep")]
    [InlineData("/rep//", "/rep")]
    [InlineData("//Rm", "/rm")]
    // Path parameters (Tomcat, Jetty), also the "..;" that Tomcat reads as "..".
    [InlineData("/rep;x", "/rep")]
    [InlineData("/rm;", "/rm")]
    [InlineData("/ADD;jsessionid=1", "/add")]
    [InlineData("/x/..;/rep", "/rep")]
    [InlineData("/rep%3Bx", "/rep")]
    // Backslashes (IIS), trailing dots and blanks (Windows names).
    [InlineData("/\\rep", "/rep")]
    [InlineData("/rep\\", "/rep")]
    [InlineData("/rep.", "/rep")]
    [InlineData("/rep%20", "/rep")]
    [InlineData("/rep%09", "/rep")]
    // A query or fragment that arrived encoded, or a raw '#', which Kestrel keeps in the path.
    [InlineData("/rep%3Fx=1", "/rep")]
    [InlineData("/rep%23x", "/rep")]
    [InlineData("/rep#x", "/rep")]
    // Double encoding, for servers that decode again: Kestrel decodes once (and leaves %2F alone).
    [InlineData("/%2572ep", "/rep")]
    [InlineData("/rep%2F", "/rep")]
    [InlineData("/%2Frep", "/rep")]
    [InlineData("/x%2F..%2Frep", "/rep")]
    [InlineData("/%252e%252e/add", "/add")]
    public async Task A_path_a_server_could_take_for_an_admin_path_gets_400_and_reaches_no_server(string path, string adminPath)
    {
        var response = await RawHttpClient.SendAsync(_proxy.Address, $"GET {path} HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n");

        Assert.Equal(StatusCodes.Status400BadRequest, response.StatusCode);
        Assert.StartsWith("application/json", Assert.Single(response.Values("Content-Type")), StringComparison.Ordinal);
        var body = JsonDocument.Parse(response.BodyText).RootElement;
        Assert.Equal("failure", body.GetProperty("status").GetString());
        Assert.Equal(AdminPathGuard.RefusalMessage(adminPath), body.GetProperty("message").GetString());
        Assert.Equal($"<Error> The path could be taken for the admin path {adminPath} by a server, so it is not forwarded; call {adminPath} itself", body.GetProperty("message").GetString());
        Assert.Empty(_seen);
    }

    [Theory]
    // Kestrel decodes and removes dot segments, and routing ignores letter case and a trailing slash: these reach the
    // admin endpoint itself (the guard relies on it and does not look at them again).
    [InlineData("/REP")]
    [InlineData("/rep/")]
    [InlineData("/%72ep")]
    [InlineData("/./rep")]
    [InlineData("/x/../rep")]
    [InlineData("/x/%2e%2e/rep")]
    [InlineData("/rep/x/..")]
    public async Task A_path_kestrel_or_routing_folds_onto_an_admin_path_gets_the_admin_answer(string path)
    {
        var response = await RawHttpClient.SendAsync(_proxy.Address, $"GET {path} HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n");

        Assert.Equal(StatusCodes.Status200OK, response.StatusCode);
        AdminCalls.AssertJson(AdminCalls.Replicas("backend"), response.BodyText);
        Assert.Empty(_seen);
    }

    [Theory]
    [InlineData("/rep.json")]
    [InlineData("/repx")]
    [InlineData("/reply")]
    [InlineData("/r.ep")]
    [InlineData("/api/rep")]
    [InlineData("/rep/history")]
    [InlineData("//rep/history")]
    [InlineData("/x/rep;v=1")]
    [InlineData("/home?id=1")]
    [InlineData("/static/app.js")]
    public async Task A_path_that_only_resembles_an_admin_path_is_forwarded(string path)
    {
        var response = await RawHttpClient.SendAsync(_proxy.Address, $"GET {path} HTTP/1.1\r\nHost: proxy\r\nConnection: close\r\n\r\n");

        Assert.Equal(StatusCodes.Status200OK, response.StatusCode);
        Assert.Equal("backend", response.BodyText);
        Assert.Single(_seen);
    }
}
