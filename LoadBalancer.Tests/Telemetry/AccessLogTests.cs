using LoadBalancer.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Tests.Telemetry;

public sealed class AccessLogTests
{
    [Fact]
    public async Task With_the_access_log_on_each_request_is_one_entry_naming_client_request_status_and_member()
    {
        var logs = new LogCollector();
        await using var server = await TestHost.StartServerAsync("1");
        await using var proxy = await TestHost.StartProxyAsync(
            [KeyValuePair.Create("server1", server.Address)],
            new Dictionary<string, string?> { ["Telemetry:AccessLog"] = "true", ["Health:Enabled"] = "false" },
            services => services.AddSingleton<ILoggerProvider>(logs));
        using var client = proxy.CreateClient();

        using (var response = await client.GetAsync("/home?id=secret-key"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using (var response = await client.GetAsync("/nowhere?id=1"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        var entries = logs.Messages.Where(m => m.StartsWith("Request and Response:", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, entries.Count);
        Assert.All(
            ["ClientAddress: 127.0.0.1", "Method: GET", "Protocol: HTTP/1.1", "Path: /home", "StatusCode: 200", "Upstream: server1", "Duration: "],
            field => Assert.Contains(field, entries[0], StringComparison.Ordinal));
        Assert.Contains("Path: /nowhere", entries[1], StringComparison.Ordinal);
        Assert.Contains("StatusCode: 400", entries[1], StringComparison.Ordinal);
        Assert.DoesNotContain("[Redacted]", entries[0], StringComparison.Ordinal);
        // The query carries the routing key, which may be personal data.
        Assert.DoesNotContain(logs.Messages, m => m.Contains("secret-key", StringComparison.Ordinal));
    }

    [Fact]
    public async Task By_default_requests_are_not_logged_one_by_one()
    {
        var logs = new LogCollector();
        await using var server = await TestHost.StartServerAsync("1");
        await using var proxy = await TestHost.StartProxyAsync(
            [KeyValuePair.Create("server1", server.Address)],
            new Dictionary<string, string?> { ["Health:Enabled"] = "false" },
            services => services.AddSingleton<ILoggerProvider>(logs));
        using var client = proxy.CreateClient();

        using var response = await client.GetAsync("/home?id=1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(logs.Messages, m => m.StartsWith("Request and Response:", StringComparison.Ordinal));
    }
}
