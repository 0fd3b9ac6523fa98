using LoadBalancer.Server;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Server;

/// <summary>
/// The bench-only many listeners (<c>Listeners:*</c>): one real server process on 127.0.0.1 answering on each of its
/// ports as a server of its own, as that many separate servers would.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class ServerListenersTests
{
    private const int Count = 4;

    [Fact]
    public async Task Each_listener_answers_home_and_heartbeat_as_its_own_server()
    {
        var firstPort = Ports.FreeBlock(Count);
        await using var server = await StartAsync(new() { ["Listeners:Count"] = $"{Count}", ["Listeners:FirstPort"] = $"{firstPort}" });

        var ids = new List<string>();
        for (var i = 0; i < Count; i++)
        {
            using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{firstPort + i}"), Timeout = TimeSpan.FromSeconds(30) };
            var expected = $"server{i + 1}";

            using var home = await client.GetAsync("/home?id=123456");
            Assert.Equal(HttpStatusCode.OK, home.StatusCode);
            Assert.Equal("application/json", home.Content.Headers.ContentType?.MediaType);
            Assert.Equal($$"""{"message":"Hello from Server: {{expected}}","status":"successful"}""", await home.Content.ReadAsStringAsync());
            Assert.Equal(expected, Assert.Single(home.Headers.GetValues("X-Server-Id")));

            using var heartbeat = await client.GetAsync("/heartbeat");
            Assert.Equal(HttpStatusCode.OK, heartbeat.StatusCode);
            Assert.Equal(expected, Assert.Single(heartbeat.Headers.GetValues("X-Server-Id")));

            using var other = await client.GetAsync("/other");
            Assert.Equal(HttpStatusCode.BadRequest, other.StatusCode);
            ids.Add(expected);
        }

        Assert.Equal(Count, ids.Distinct(StringComparer.Ordinal).Count());
    }

    [Theory]
    [InlineData("-1", "1", null, null, "Listeners:Count must be")]
    [InlineData("1001", "1", null, null, "Listeners:Count must be")]
    [InlineData("3", null, null, null, "Listeners:FirstPort is not set")]
    [InlineData("3", "70000", null, null, "Listeners:FirstPort must be")]
    [InlineData("3", "65534", null, null, "would need port 65536")]
    [InlineData("3", "40000", "Capacity:ConcurrencyLimit", "2", "cannot be combined with Capacity")]
    [InlineData("3", "40000", "Server:H2cPort", "40001", "cannot be combined with Server:H2cPort")]
    public async Task A_bad_listeners_setting_stops_the_server_at_start_naming_it(string count, string? firstPort, string? other, string? otherValue, string expected)
    {
        var settings = new Dictionary<string, string?> { ["Listeners:Count"] = count, ["Listeners:FirstPort"] = firstPort };
        if (other is not null)
        {
            settings[other] = otherValue;
        }

        var error = await Assert.ThrowsAnyAsync<Exception>(() => StartAsync(settings));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    private static Task<TestHost> StartAsync(Dictionary<string, string?> settings)
    {
        settings["SERVER_ID"] = "5";
        return TestHost.StartAsync(builder => builder.AddServerOptions(), app => app.MapServerEndpoints(), settings, TestHost.ServerAppSettings);
    }
}
