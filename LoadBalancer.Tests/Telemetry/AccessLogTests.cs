using LoadBalancer.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Tests.Telemetry;

[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class AccessLogTests : IAsyncDisposable
{
    private const string EntryStart = "Request and Response:";
    private readonly LogCollector _logs = new();
    private TestHost? _server;
    private TestHost? _proxy;

    public async ValueTask DisposeAsync()
    {
        await (_proxy?.DisposeAsync() ?? ValueTask.CompletedTask);
        await (_server?.DisposeAsync() ?? ValueTask.CompletedTask);
    }

    /// <summary>A server and a proxy in front of it whose logs go to <see cref="_logs"/>.</summary>
    private async Task<HttpClient> StartAsync(Dictionary<string, string?> settings)
    {
        _server = await TestHost.StartServerAsync("1");
        settings["Health:Enabled"] = "false";
        _proxy = await TestHost.StartProxyAsync(
            [KeyValuePair.Create("server1", _server.Address)], settings, services => services.AddSingleton<ILoggerProvider>(_logs));
        return _proxy.CreateClient();
    }

    [Fact]
    public async Task With_the_access_log_on_each_request_is_one_entry_naming_client_request_status_and_server()
    {
        using var client = await StartAsync(new() { ["Telemetry:AccessLog"] = "true" });

        using (var response = await client.GetAsync("/home?id=secret-key"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        using (var response = await client.GetAsync("/nowhere?id=1"))
        {
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        var entries = _logs.Messages.Where(m => m.StartsWith(EntryStart, StringComparison.Ordinal)).ToList();
        Assert.Equal(2, entries.Count);
        Assert.All(
            ["ClientAddress: 127.0.0.1", "Method: GET", "Protocol: HTTP/1.1", "Path: /home", "StatusCode: 200", "BackendServer: server1", "Duration: "],
            field => Assert.Contains(field, entries[0], StringComparison.Ordinal));
        Assert.Contains("Path: /nowhere", entries[1], StringComparison.Ordinal);
        Assert.Contains("StatusCode: 400", entries[1], StringComparison.Ordinal);
        Assert.DoesNotContain("[Redacted]", entries[0], StringComparison.Ordinal);
        // The query carries the routing key, which may be personal data. (Only the access log is checked: what YARP's own
        // Information logs say depends on which project's appsettings.json the test output ended up with.)
        Assert.All(entries, entry => Assert.DoesNotContain("secret-key", entry, StringComparison.Ordinal));
    }

    [Fact]
    public async Task By_default_requests_are_not_logged_one_by_one()
    {
        using var client = await StartAsync([]);

        using var response = await client.GetAsync("/home?id=1");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(_logs.Messages, m => m.StartsWith(EntryStart, StringComparison.Ordinal));
    }
}
