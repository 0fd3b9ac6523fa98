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
public sealed class AppHostFixture : IAsyncLifetime
{
    /// <summary>How long start-up may take before the tests fail (a cold build of the projects is not included).</summary>
    public static readonly TimeSpan StartTimeout = TimeSpan.FromMinutes(3);

    public const int ServerCount = 3;

    private DistributedApplication? _app;

    public DistributedApplication App => _app ?? throw new InvalidOperationException("The AppHost has not started.");

    public static IEnumerable<string> ServerNames => Enumerable.Range(1, ServerCount).Select(i => $"server{i}");

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(StartTimeout);
        _app = await StartAsync([$"LoadBalancer:Servers={ServerCount}"], configure: null, cts.Token);
    }

    /// <summary>Builds and starts the AppHost with <paramref name="args"/> and waits until the proxy is healthy.</summary>
    internal static async Task<DistributedApplication> StartAsync(
        string[] args,
        Action<DistributedApplicationOptions, Microsoft.Extensions.Hosting.HostApplicationBuilderSettings>? configure,
        CancellationToken cancellationToken)
    {
        // The proxy listens straight on its port (DCP does not proxy it, so the testing builder cannot randomize it):
        // take a free one rather than the fixed 5000 another run may hold.
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.LoadBalancer_AppHost>(
            [.. args, $"LoadBalancer:ProxyPort={FreePort()}"], configure ?? ((_, _) => { }), cancellationToken);
        builder.Services.AddLogging(logging => logging
            .SetMinimumLevel(LogLevel.Warning)
            .AddFilter("Aspire.Hosting.Dcp", LogLevel.Warning));

        var app = await builder.BuildAsync(cancellationToken);
        await app.StartAsync(cancellationToken);
        await app.ResourceNotifications.WaitForResourceHealthyAsync("proxy", cancellationToken);
        return app;
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

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
