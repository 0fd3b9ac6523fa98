using System.Text.Json;
using LoadBalancer.Server;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancer.Tests.Server;

/// <summary>
/// The bench-only capacity model (<c>Capacity:*</c>): a real server on 127.0.0.1 whose service time runs on a fake
/// clock, so "held", "queued" and "refused" are decided by the test's clock and not by the machine's speed.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class ServerCapacityTests
{
    private static readonly TimeSpan ServiceTime = TimeSpan.FromMilliseconds(100);

    // Bounds every wait for the real server: a request that should complete does so in milliseconds.
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task With_limit_1_and_queue_2_three_requests_are_held_and_a_fourth_is_refused_at_once_with_a_503()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await StartAsync(time, concurrencyLimit: 1, queueLimit: 2);
        using var client = server.CreateClient();

        var held = Enumerable.Range(0, 3).Select(i => client.GetAsync($"/home?id={i}")).ToArray();
        await WaitForInFlightAsync(client, 3);
        using var refused = await client.GetAsync("/home?id=4").WaitAsync(Patience);

        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal("application/json", refused.Content.Headers.ContentType?.MediaType);
        var body = JsonDocument.Parse(await refused.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("failure", body.GetProperty("status").GetString());
        Assert.StartsWith("Server 5 is at capacity", body.GetProperty("message").GetString(), StringComparison.Ordinal);
        Assert.Equal("5", Assert.Single(refused.Headers.GetValues("X-Server-Id")));
        Assert.All(held, request => Assert.False(request.IsCompleted, "a held request answered before its service time passed"));

        var answered = await AdvanceUntilAllAnswerAsync(time, held);
        Assert.All(answered, response => Assert.Equal(HttpStatusCode.OK, response.StatusCode));
        var stats = await ReadCapacityAsync(client);
        Assert.Equal((3, 3, 1, 0), (stats.GetProperty("peakInFlight").GetInt32(), stats.GetProperty("served").GetInt32(),
            stats.GetProperty("refused").GetInt32(), stats.GetProperty("inFlight").GetInt32()));
    }

    [Fact]
    public async Task Within_the_limit_and_the_queue_requests_wait_their_turn_one_service_time_each()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var server = await StartAsync(time, concurrencyLimit: 1, queueLimit: 2);
        using var client = server.CreateClient();

        var first = client.GetAsync("/home?id=1");
        await WaitForInFlightAsync(client, 1);
        var queued = new[] { client.GetAsync("/home?id=2"), client.GetAsync("/home?id=3") };
        await WaitForInFlightAsync(client, 3);

        // One service time answers the one being served; the two queued behind it have not started theirs.
        time.Advance(ServiceTime);
        using var firstAnswer = await first.WaitAsync(Patience);
        Assert.Equal(HttpStatusCode.OK, firstAnswer.StatusCode);
        Assert.Equal("Hello from Server: 5", (await firstAnswer.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.All(queued, request => Assert.False(request.IsCompleted, "a queued request answered in the same service time as the one before it"));

        var answered = await AdvanceUntilAllAnswerAsync(time, queued);
        Assert.All(answered, response => Assert.Equal(HttpStatusCode.OK, response.StatusCode));
    }

    [Fact]
    public async Task Off_by_default_the_server_answers_every_concurrent_request_at_once_and_has_no_capacity_endpoint()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow); // never advanced: a held request would never answer
        await using var server = await TestHost.StartAsync(
            builder =>
            {
                builder.Services.AddSingleton<TimeProvider>(time);
                builder.AddServerOptions();
            },
            app => app.MapServerEndpoints(),
            new Dictionary<string, string?> { ["SERVER_ID"] = "5" },
            TestHost.ServerAppSettings);
        using var client = server.CreateClient();

        var responses = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => client.GetAsync($"/home?id={i}"))).WaitAsync(Patience);

        Assert.All(responses, response =>
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.False(response.Headers.Contains("X-Server-Id"));
        });
        using var capacity = await client.GetAsync("/capacity");
        Assert.Equal(HttpStatusCode.BadRequest, capacity.StatusCode);
    }

    [Theory]
    [InlineData("Capacity:QueueLimit", "4", "Capacity:ConcurrencyLimit is 0")]
    [InlineData("Capacity:ConcurrencyLimit", "-1", "Capacity:ConcurrencyLimit must be")]
    [InlineData("Capacity:ServiceTime", "00:01:00", "Capacity:ServiceTime must be")]
    public async Task A_bad_capacity_setting_stops_the_server_at_start_naming_it(string setting, string value, string expected)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestHost.StartAsync(
            builder => builder.AddServerOptions(),
            app => app.MapServerEndpoints(),
            new Dictionary<string, string?> { ["SERVER_ID"] = "5", [setting] = value },
            TestHost.ServerAppSettings));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    private static Task<TestHost> StartAsync(FakeTimeProvider time, int concurrencyLimit, int queueLimit) => TestHost.StartAsync(
        builder =>
        {
            builder.Services.AddSingleton<TimeProvider>(time);
            builder.AddServerOptions();
        },
        app => app.MapServerEndpoints(),
        new Dictionary<string, string?>
        {
            ["SERVER_ID"] = "5",
            ["Capacity:ServiceTime"] = ServiceTime.ToString(),
            ["Capacity:ConcurrencyLimit"] = $"{concurrencyLimit}",
            ["Capacity:QueueLimit"] = $"{queueLimit}",
        },
        TestHost.ServerAppSettings);

    private static async Task<JsonElement> ReadCapacityAsync(HttpClient client) =>
        await client.GetFromJsonAsync<JsonElement>("/capacity").WaitAsync(Patience);

    // Polls the server's own count until `count` requests are at it (queued or served); bounded by Patience.
    private static async Task WaitForInFlightAsync(HttpClient client, int count)
    {
        var deadline = DateTime.UtcNow + Patience;
        while ((await ReadCapacityAsync(client)).GetProperty("inFlight").GetInt32() < count)
        {
            Assert.True(DateTime.UtcNow < deadline, $"fewer than {count} requests reached the server in {Patience}");
            await Task.Delay(20);
        }
    }

    // Moves the fake clock one service time at a time until every request answered (at most 20 steps, 10 s).
    private static async Task<HttpResponseMessage[]> AdvanceUntilAllAnswerAsync(FakeTimeProvider time, Task<HttpResponseMessage>[] requests)
    {
        var all = Task.WhenAll(requests);
        for (var step = 0; step < 20 && !all.IsCompleted; step++)
        {
            time.Advance(ServiceTime);
            await Task.WhenAny(all, Task.Delay(500));
        }

        return await all.WaitAsync(Patience);
    }
}
