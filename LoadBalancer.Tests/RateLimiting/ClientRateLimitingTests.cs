using System.Text.Json;
using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.RateLimiting;

[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class ClientRateLimitingTests
{
    // A minute's period: the bucket cannot refill while the test runs, however slow the machine.
    private static Dictionary<string, string?> Limited(int permits) => new()
    {
        ["RateLimit:Enabled"] = "true",
        ["RateLimit:PermitLimit"] = permits.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["RateLimit:Period"] = "00:01:00",
        ["Health:Enabled"] = "false",
    };

    [Fact]
    public async Task A_client_over_its_limit_gets_429_with_retry_after_and_a_json_error_and_nothing_is_forwarded()
    {
        var forwarded = 0;
        await using var backend = await TestHost.StartBackendAsync(context =>
        {
            Interlocked.Increment(ref forwarded);
            return Task.CompletedTask;
        });
        await using var proxy = await TestHost.StartProxyAsync(new Dictionary<string, Uri> { ["b"] = backend.Address }, Limited(5));
        using var client = proxy.CreateClient();

        for (var i = 0; i < 5; i++)
        {
            using var allowed = await client.GetAsync($"/home?id={i}");
            Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        }

        using var response = await client.GetAsync("/home?id=6");

        Assert.Equal(HttpStatusCode.TooManyRequests, response.StatusCode);
        Assert.InRange(response.Headers.RetryAfter!.Delta!.Value, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
        Assert.False(response.Headers.Contains(ProxyRequestHandler.ServerNameHeader));
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("<Error> Too many requests from 127.0.0.1: the limit is 5 per 60 s", body.GetProperty("message").GetString());
        Assert.Equal("failure", body.GetProperty("status").GetString());
        Assert.Equal(5, Volatile.Read(ref forwarded));
    }

    [Fact]
    public async Task The_proxys_own_endpoints_are_not_limited()
    {
        await using var proxy = await TestHost.StartProxyAsync([KeyValuePair.Create("b", new Uri("http://127.0.0.1:40001"))], Limited(1));
        using var client = proxy.CreateClient();

        for (var i = 0; i < 5; i++)
        {
            using var ring = await client.GetAsync("/ring");
            Assert.Equal(HttpStatusCode.OK, ring.StatusCode);
            using var rep = await client.GetAsync("/rep");
            Assert.Equal(HttpStatusCode.OK, rep.StatusCode);
        }
    }

    [Fact]
    public async Task Without_the_setting_nothing_is_limited()
    {
        await using var backend = await TestHost.StartBackendAsync(_ => Task.CompletedTask);
        var settings = Limited(1);
        settings.Remove("RateLimit:Enabled");
        await using var proxy = await TestHost.StartProxyAsync(new Dictionary<string, Uri> { ["b"] = backend.Address }, settings);
        using var client = proxy.CreateClient();

        for (var i = 0; i < 5; i++)
        {
            using var response = await client.GetAsync($"/home?id={i}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
    }

    [Theory]
    [InlineData("RateLimit:PermitLimit", "0", "PermitLimit")]
    [InlineData("RateLimit:Period", "00:00:00", "Period")]
    public async Task Invalid_settings_stop_the_proxy_at_start(string key, string value, string expected)
    {
        var settings = Limited(5);
        settings[key] = value;

        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestHost.StartProxyAsync([], settings));

        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
