using System.Text.Json;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Server;

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
}
