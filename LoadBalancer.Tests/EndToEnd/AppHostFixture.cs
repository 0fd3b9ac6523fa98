using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// Starts the real AppHost (three servers and the proxy) once for a test class and stops it afterwards,
/// so no process outlives the tests.
/// </summary>
public class AppHostFixture : IAsyncLifetime
{
    /// <summary>How long start-up may take before the tests fail (a cold build of the projects is not included).</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);

    public const int ServerCount = 3;

    private DistributedApplication? _app;

    public DistributedApplication App => _app ?? throw new InvalidOperationException("The AppHost has not started.");

    public static IEnumerable<string> ServerNames => Enumerable.Range(1, ServerCount).Select(i => $"server{i}");

    /// <summary>What the AppHost itself logged at Warning and above (Aspire's hosting, DCP, the AppHost's own code).</summary>
    public Infrastructure.LogCollector AppHostLog { get; } = new();

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(StartTimeout);
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.LoadBalancer_AppHost>(
            // The proxy's port is not proxied by DCP, so testing does not randomize it: take a free one rather than 5000,
            // which another AppHost (a previous fixture still shutting down, a developer's) may hold.
            [$"LoadBalancer:Servers={ServerCount}", $"LoadBalancer:ProxyPort={Infrastructure.Ports.Free()}", .. Arguments],
            (options, _) => OnCreating(options),
            cts.Token);
        builder.Services.AddLogging(logging => logging
            .SetMinimumLevel(LogLevel.Warning)
            .AddFilter("Aspire.Hosting.Dcp", LogLevel.Warning)
            .AddProvider(AppHostLog));
        await OnBuildingAsync(builder, cts.Token);

        _app = await builder.BuildAsync(cts.Token);
        await _app.StartAsync(cts.Token);
        await _app.ResourceNotifications.WaitForResourceHealthyAsync("proxy", cts.Token);
    }

    /// <summary>Extra AppHost arguments (configuration) of a derived fixture.</summary>
    protected virtual IEnumerable<string> Arguments => [];

    /// <summary>Lets a derived fixture change the application options (e.g. turn the dashboard back on).</summary>
    protected virtual void OnCreating(DistributedApplicationOptions options)
    {
    }

    /// <summary>Lets a derived fixture read or change the app model before it is built.</summary>
    protected virtual Task OnBuildingAsync(IDistributedApplicationTestingBuilder builder, CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>A client for the proxy's http endpoint.</summary>
    public HttpClient CreateProxyClient()
    {
        var client = App.CreateHttpClient("proxy", "http");
        client.Timeout = TimeSpan.FromSeconds(30);
        return client;
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
