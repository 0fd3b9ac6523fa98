using System.Text;
using System.Text.Json;
using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace LoadBalancer.Tests.Forwarding;

[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class ProxyForwardingTests
{
    [Fact]
    public async Task Requests_reach_the_ring_server_named_in_the_upstream_header()
    {
        await using var cluster = await TestCluster.StartAsync(3);
        var proxy = cluster.Proxy;
        using var client = proxy.CreateClient();

        var seen = new HashSet<string>();
        for (var id = 0; id < 300; id++)
        {
            var response = await client.GetAsync($"/home?id={id}");
            var upstream = Assert.Single(response.Headers.GetValues(ProxyRequestHandler.ServerNameHeader));
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal($"Hello from Server: {upstream["server".Length..]}", body.GetProperty("message").GetString());
            seen.Add(upstream);

            var again = await client.GetAsync($"/home?id={id}");
            Assert.Equal(upstream, Assert.Single(again.Headers.GetValues(ProxyRequestHandler.ServerNameHeader)));
        }

        Assert.Equal(3, seen.Count);
    }

    [Fact]
    public async Task Method_path_query_headers_and_body_arrive_intact_and_the_answer_comes_back_intact()
    {
        string? seen = null;
        await using var echo = await TestHost.StartBackendAsync(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            var body = await reader.ReadToEndAsync();
            seen = $"{context.Request.Method} {context.Request.Path}{context.Request.QueryString} {context.Request.Headers["X-Custom"]} {body}";
            context.Response.StatusCode = 201;
            context.Response.Headers["X-Answer"] = "yes";
            await context.Response.WriteAsync("created");
        });
        await using var proxy = await TestHost.StartProxyAsync(new Dictionary<string, Uri> { ["echo"] = echo.Address });
        using var client = proxy.CreateClient();

        var request = new HttpRequestMessage(HttpMethod.Put, "/items/7.json?id=9&x=%20y")
        {
            Content = new StringContent("{\"a\":1}", Encoding.UTF8, "application/json"),
        };
        request.Headers.Add("X-Custom", "hello");
        var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        Assert.Equal("created", await response.Content.ReadAsStringAsync());
        Assert.Equal("yes", Assert.Single(response.Headers.GetValues("X-Answer")));
        Assert.Equal("echo", Assert.Single(response.Headers.GetValues(ProxyRequestHandler.ServerNameHeader)));
        Assert.Equal("PUT /items/7.json?id=9&x=%20y hello {\"a\":1}", seen);
    }

    [Fact]
    public async Task Server_errors_are_passed_through()
    {
        await using var server = await TestHost.StartServerAsync("1");
        await using var proxy = await TestHost.StartProxyAsync(new Dictionary<string, Uri> { ["server1"] = server.Address });
        using var client = proxy.CreateClient();

        var response = await client.GetAsync("/other");

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("<Error> '/other' endpoint does not exist in server replicas", body.GetProperty("message").GetString());
    }

    [Fact]
    public async Task No_servers_answers_503_with_a_json_error_at_once()
    {
        await using var proxy = await TestHost.StartProxyAsync([]);
        using var client = proxy.CreateClient();

        var response = await client.GetAsync("/home?id=1");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("failure", body.GetProperty("status").GetString());
        Assert.Contains("No server", body.GetProperty("message").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Balancing:Algorithm", "Spiral", "Balancing:Algorithm 'Spiral' is unknown")]
    [InlineData("Balancing:HashFunction", "Md4", "Balancing:HashFunction 'Md4' is unknown")]
    [InlineData("Balancing:VirtualNodes", "0", "VirtualNodes")]
    [InlineData("Balancing:Weights:server1", "0", "Balancing:Weights:server1 is 0")]
    [InlineData("Routing:Cookie", "my session", "Routing:Cookie must be a cookie name")]
    [InlineData("Routing:KeySources:0", "Biscuit", "Routing:KeySources:0 'Biscuit' is not a key source; use Query, Header, ClientAddress, Cookie.")]
    [InlineData("Routing:KeySources:1", "2", "Routing:KeySources:1 '2' is not a key source")]
    public async Task Invalid_settings_stop_the_proxy_at_start_with_a_clear_message(string key, string value, string expected)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            TestHost.StartProxyAsync([], new Dictionary<string, string?> { [key] = value }));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task With_the_cookie_source_a_session_stays_on_its_server_whatever_else_the_request_carries()
    {
        await using var cluster = await TestCluster.StartAsync(3, new Dictionary<string, string?> { ["Routing:KeySources:0"] = "Cookie", ["Routing:KeySources:1"] = "Query" });
        using var client = cluster.Proxy.CreateClient();
        var serversOfSessions = new HashSet<string>();

        for (var session = 0; session < 30; session++)
        {
            var servers = new HashSet<string>();
            for (var id = 0; id < 5; id++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, $"/home?id={id}");
                request.Headers.Add("Cookie", $"theme=dark; session=s-{session}");
                using var response = await client.SendAsync(request);
                Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                servers.Add(Assert.Single(response.Headers.GetValues(ProxyRequestHandler.ServerNameHeader)));
            }

            serversOfSessions.Add(Assert.Single(servers));
        }

        // Sessions spread over the ring like any key.
        Assert.Equal(3, serversOfSessions.Count);
    }
}
