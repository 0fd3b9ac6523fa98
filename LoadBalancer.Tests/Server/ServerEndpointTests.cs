using System.Text.Json;
using LoadBalancer.Server;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Tests.Server;

[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class ServerEndpointTests
{
    [Fact]
    public async Task Home_answers_with_the_configured_id()
    {
        await using var server = await TestHost.StartServerAsync("7");
        using var client = server.CreateClient();

        var response = await client.GetAsync("/home");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal("""{"message":"Hello from Server: 7","status":"successful"}""", await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Heartbeat_answers_200_with_an_empty_body()
    {
        await using var server = await TestHost.StartServerAsync("1");
        using var client = server.CreateClient();

        var response = await client.GetAsync("/heartbeat");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Empty(await response.Content.ReadAsByteArrayAsync());
    }

    [Theory]
    [InlineData("GET", "/other")]
    [InlineData("POST", "/home/deeper")]
    [InlineData("DELETE", "/x.js")]
    public async Task Unknown_path_gets_the_assignments_error(string method, string path)
    {
        await using var server = await TestHost.StartServerAsync("1");
        using var client = server.CreateClient();

        var response = await client.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal($"<Error> '{path}' endpoint does not exist in server replicas", body.GetProperty("message").GetString());
        Assert.Equal("failure", body.GetProperty("status").GetString());
    }

    [Fact]
    public async Task Invalid_server_id_fails_at_start()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestHost.StartServerAsync("bad id!"));
        Assert.Contains("SERVER_ID", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_h2c_port_speaks_HTTP_2_with_prior_knowledge_while_the_other_port_stays_HTTP_1_1()
    {
        var (http, h2c) = (Ports.Free(), Ports.Free());
        var logs = new LogCollector();
        await using var server = await StartOnPortsAsync([http, h2c], h2cPort: h2c, logs);
        using var client = new HttpClient();

        using var overHttp1 = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{http}/home"));
        using var overH2c = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{h2c}/home")
        {
            Version = HttpVersion.Version20,
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        });

        Assert.Equal((HttpStatusCode.OK, HttpVersion.Version11), (overHttp1.StatusCode, overHttp1.Version));
        Assert.Equal((HttpStatusCode.OK, HttpVersion.Version20), (overH2c.StatusCode, overH2c.Version));
        Assert.Equal("Hello from Server: 4", (await overH2c.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
        // HTTP/1.1 on the h2c port is refused (Kestrel answers 400): the port speaks nothing else.
        using var http1OnH2c = await client.GetAsync($"http://127.0.0.1:{h2c}/home");
        Assert.Equal(HttpStatusCode.BadRequest, http1OnH2c.StatusCode);
        Assert.DoesNotContain(logs.Messages, m => m.Contains("H2cPort", StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_h2c_port_the_server_does_not_listen_on_is_reported_at_start()
    {
        var (http, missing) = (Ports.Free(), Ports.Free());
        var logs = new LogCollector();
        await using var server = await StartOnPortsAsync([http], h2cPort: missing, logs);

        Assert.Contains(logs.Messages, m => m.StartsWith($"Server:H2cPort is {missing}, but the server listens on http://127.0.0.1:{http}", StringComparison.Ordinal));
    }

    // A real server on 127.0.0.1 at the given ports, with SERVER_ID 4 and Server:H2cPort, logging into logs.
    private static Task<TestHost> StartOnPortsAsync(int[] ports, int h2cPort, LogCollector logs) => TestHost.StartAsync(
        builder =>
        {
            builder.WebHost.UseUrls(ports.Select(port => $"http://127.0.0.1:{port}").ToArray());
            builder.Logging.AddProvider(logs);
            builder.AddServerOptions();
        },
        app => app.MapServerEndpoints(),
        new Dictionary<string, string?> { ["SERVER_ID"] = "4", ["Server:H2cPort"] = $"{h2cPort}" },
        TestHost.ServerAppSettings);
}
