using LoadBalancer.Proxy.Membership;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Provisioning;

/// <summary>
/// Feeds membership from the engine that runs the servers: its list of ready servers, followed as it changes, is the
/// membership, so every proxy replica watching the same engine builds the same table. Takes the place of service
/// discovery when an engine is configured.
/// </summary>
/// <remarks>
/// Each server is routed to at the endpoint <c>Discovery:EndpointName</c> names (<c>h2c</c> under the AppHost when the
/// proxy speaks HTTP/2), else its <c>http</c> one. When the engine cannot be reached the last membership stays.
/// </remarks>
internal sealed partial class ProvisionedMembershipSource(
    IServerProvisioner provisioner,
    MembershipManager membership,
    IOptions<ProvisioningOptions> options,
    IOptions<DiscoveryOptions> discovery,
    TimeProvider timeProvider,
    ILogger<ProvisionedMembershipSource> logger) : BackgroundService, IEngineServers
{
    private static readonly TimeSpan FirstListTimeout = TimeSpan.FromSeconds(10);
    private readonly bool _h2c = string.Equals(discovery.Value.EndpointName, "h2c", StringComparison.Ordinal);
    private volatile Applied? _last;

    /// <summary>The version of the engine's list the membership was last built from, if any.</summary>
    public long? Version => _last?.Version;

    /// <summary>The names on the engine's last list, or null before the first.</summary>
    public IReadOnlySet<string>? Servers => _last?.Servers;

    /// <inheritdoc />
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // The first list before the proxy listens, so the first request already finds a table.
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(FirstListTimeout);
            Apply(await provisioner.ListAsync(null, timeout.Token).ConfigureAwait(false));
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            LogUnreachable(logger, options.Value.Engine.ToString(), ex);
        }

        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                Apply(await provisioner.ListAsync(Version, stoppingToken).ConfigureAwait(false));
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException or System.Text.Json.JsonException)
            {
                LogUnreachable(logger, options.Value.Engine.ToString(), ex);
                await Task.Delay(options.Value.RetryDelay, timeProvider, stoppingToken).ConfigureAwait(false);
            }
        }
    }

    private void Apply(ProvisionedList list)
    {
        if (list.Version == Version)
        {
            return;
        }

        var servers = new Dictionary<string, Uri>(list.Servers.Count, StringComparer.Ordinal);
        foreach (var server in list.Servers)
        {
            servers[server.Name] = _h2c && server.H2c is not null ? server.H2c : server.Http;
        }

        // Known as the engine's before the table shows them, so a /rm right after the /add that waited for the table
        // stops them through the engine.
        _last = new Applied(list.Version, servers.Keys.ToHashSet(StringComparer.Ordinal));
        membership.SetDiscovered(servers);
        LogListed(logger, list.Version, servers.Count);
    }

    private sealed record Applied(long Version, IReadOnlySet<string> Servers);

    [LoggerMessage(EventId = 800, Level = LogLevel.Warning, Message = "The {Engine} engine that runs the servers could not be reached; keeping the current membership")]
    private static partial void LogUnreachable(ILogger logger, string engine, Exception exception);

    [LoggerMessage(EventId = 801, Level = LogLevel.Debug, Message = "Engine's server list v{Version}: {Count} servers")]
    private static partial void LogListed(ILogger logger, long version, int count);
}
