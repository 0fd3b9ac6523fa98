using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Experiments.Systems;

/// <summary>
/// Starts the real AppHost (N servers and the proxy) through Aspire.Hosting.Testing, which randomizes ports and
/// needs no dashboard, so runs never collide with a developer's AppHost.
/// </summary>
public sealed class AspireSystemLauncher(TimeSpan startTimeout) : ISystemLauncher
{
    /// <summary>Start-up budget used by the command line.</summary>
    public static readonly TimeSpan DefaultStartTimeout = TimeSpan.FromMinutes(4);

    /// <summary>The AppHost's parameter holding the proxy's admin key.</summary>
    public const string AdminKeyParameter = "admin-key";

    /// <inheritdoc />
    public string Description => "the AppHost started through Aspire.Hosting.Testing";

    /// <inheritdoc />
    public async Task<ISystemUnderTest> StartAsync(SystemSpec spec, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(startTimeout);
        // The proxy's endpoint is not proxied, so the testing builder does not randomize its port: pick a free one
        // rather than the AppHost's 5000, which other runs on this machine may hold.
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.LoadBalancer_AppHost>(
            [.. spec.AppHostArguments(), $"LoadBalancer:ProxyPort={FreeLoopbackPort()}"], timeout.Token).ConfigureAwait(false);
        builder.Services.AddLogging(logging => logging
            .SetMinimumLevel(LogLevel.Warning)
            .AddFilter("Aspire.Hosting.Dcp", LogLevel.Error)
            .AddFilter("Aspire.Hosting", LogLevel.Error)
            .AddFilter("LoadBalancer.AppHost.Resources", LogLevel.Warning)
            .AddFilter("Microsoft.Extensions.Diagnostics.HealthChecks", LogLevel.None));

        // The AppHost generates the admin key (parameter admin-key, given to the proxy as Admin__ApiKey); A-3 calls the admin API with it.
        var adminKey = await builder.Resources.OfType<ParameterResource>().Single(p => p.Name == AdminKeyParameter)
            .GetValueAsync(timeout.Token).ConfigureAwait(false);
        var app = await builder.BuildAsync(timeout.Token).ConfigureAwait(false);
        try
        {
            await app.StartAsync(timeout.Token).ConfigureAwait(false);
            await WaitForProxyAsync(app, spec, timeout.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not SystemStartException)
        {
            await StopAsync(app).ConfigureAwait(false);
            throw new SystemStartException(
                cancellationToken.IsCancellationRequested
                    ? $"Start of {spec} was cancelled."
                    : $"The system ({spec}) did not start within {startTimeout.TotalSeconds:0} s: {ex.GetBaseException().Message}",
                ex);
        }
        catch
        {
            await StopAsync(app).ConfigureAwait(false);
            throw;
        }

        var endpoint = app.GetEndpoint("proxy", "http");
        var servers = Enumerable.Range(1, spec.Servers).Select(i => $"server{i}").ToArray();
        return new AspireSystem(app, LoopbackAddress(endpoint), servers, adminKey);
    }

    /// <summary>Waits until the proxy is healthy, failing fast when it exits (e.g. its settings were rejected).</summary>
    private static async Task WaitForProxyAsync(DistributedApplication app, SystemSpec spec, CancellationToken cancellationToken)
    {
        using var watch = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var healthy = app.ResourceNotifications.WaitForResourceHealthyAsync("proxy", watch.Token);
        var ended = app.ResourceNotifications.WaitForResourceAsync(
            "proxy", e => e.Snapshot.State?.Text is { } state && KnownResourceStates.TerminalStates.Contains(state), watch.Token);
        var first = await Task.WhenAny(healthy, ended).ConfigureAwait(false);
        await watch.CancelAsync().ConfigureAwait(false);
        if (first == ended && ended.IsCompletedSuccessfully)
        {
            var snapshot = ended.Result.Snapshot;
            throw new SystemStartException(
                $"The proxy exited ({snapshot.State?.Text}, exit code {snapshot.ExitCode?.ToString(System.Globalization.CultureInfo.InvariantCulture) ?? "?"}) " +
                $"with {spec}: its settings were probably rejected (is '{spec.Algorithm ?? spec.HashFunction}' implemented in this build?).");
        }

        await first.ConfigureAwait(false);
    }

    private static int FreeLoopbackPort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }

    /// <summary>Aspire names endpoints <c>localhost</c>; the experiments talk to 127.0.0.1 only.</summary>
    private static Uri LoopbackAddress(Uri endpoint) =>
        string.Equals(endpoint.Host, "localhost", StringComparison.OrdinalIgnoreCase)
            ? new UriBuilder(endpoint) { Host = "127.0.0.1" }.Uri
            : endpoint;

    private static async Task StopAsync(DistributedApplication app)
    {
        try
        {
            using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(1));
            await app.StopAsync(stop.Token).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is OperationCanceledException or InvalidOperationException)
        {
            // Stopping a half-started application can fail; disposing still ends its processes.
        }

        await app.DisposeAsync().ConfigureAwait(false);
    }

    private sealed class AspireSystem(DistributedApplication app, Uri proxy, IReadOnlyList<string> servers, string? adminKey) : ISystemUnderTest
    {
        public string? AdminKey { get; } = adminKey;

        public Uri ProxyAddress { get; } = proxy;

        public IReadOnlyList<string> Servers { get; } = servers;

        public bool CanControlServers => true;

        public Task StopServerAsync(string name, CancellationToken cancellationToken) =>
            ExecuteAsync(name, KnownResourceCommands.StopCommand, cancellationToken);

        public Task StartServerAsync(string name, CancellationToken cancellationToken) =>
            ExecuteAsync(name, KnownResourceCommands.StartCommand, cancellationToken);

        private async Task ExecuteAsync(string name, string command, CancellationToken cancellationToken)
        {
            var result = await app.ResourceCommands.ExecuteCommandAsync(name, command, cancellationToken).ConfigureAwait(false);
            if (!result.Success)
            {
                throw new InvalidOperationException($"Command '{command}' on {name} failed: {result.Message}");
            }
        }

        public ValueTask DisposeAsync() => new(StopAsync(app));
    }
}
