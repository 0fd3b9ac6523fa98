using System.Net;

namespace LoadBalancer.Experiments.Systems;

/// <summary>Targets a proxy that is already running (<c>--url</c>); it cannot change N, settings or stop servers.</summary>
public sealed class UrlSystemLauncher : ISystemLauncher
{
    /// <summary>The server count the running proxy is assumed to have (the AppHost's default).</summary>
    public const int DefaultServers = 3;

    private readonly Uri _proxy;

    /// <summary>Targets <paramref name="proxy"/>, which must be a loopback address.</summary>
    public UrlSystemLauncher(Uri proxy)
    {
        ArgumentNullException.ThrowIfNull(proxy);
        if (!proxy.IsLoopback && !(IPAddress.TryParse(proxy.Host, out var address) && IPAddress.IsLoopback(address)))
        {
            throw new ArgumentException($"Only a loopback proxy may be targeted (127.0.0.1 or localhost), not '{proxy.Host}'.", nameof(proxy));
        }

        _proxy = proxy;
    }

    /// <inheritdoc />
    public string Description => $"the running proxy at {_proxy}";

    /// <inheritdoc />
    public Task<ISystemUnderTest> StartAsync(SystemSpec spec, CancellationToken cancellationToken)
    {
        // The running proxy has one fixed membership and configuration: only A-1's default system (N = 3) fits.
        if (spec.Servers != DefaultServers || spec.Algorithm is not null || spec.HashFunction is not null)
        {
            throw new ExperimentSkippedException($"{spec} needs another system than the running proxy: run without --url so the tool starts the AppHost.");
        }

        return Task.FromResult<ISystemUnderTest>(new UrlSystem(_proxy));
    }

    private sealed class UrlSystem(Uri proxy) : ISystemUnderTest
    {
        public Uri ProxyAddress { get; } = proxy;

        public IReadOnlyList<string> Servers { get; } = [];

        public string? AdminKey => null;

        public bool CanControlServers => false;

        public Task StopServerAsync(string name, CancellationToken cancellationToken) =>
            throw new ExperimentSkippedException("Stopping a server needs the AppHost: run without --url.");

        public Task StartServerAsync(string name, CancellationToken cancellationToken) =>
            throw new ExperimentSkippedException("Starting a server needs the AppHost: run without --url.");

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
