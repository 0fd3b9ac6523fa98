using System.Net;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Extensions.ServiceDiscovery;

namespace LoadBalancer.Proxy.Membership;

/// <summary>
/// Feeds ring membership from Microsoft.Extensions.ServiceDiscovery: every service under the <c>Services</c>
/// configuration section is resolved, each endpoint becomes a server, and resolution repeats whenever a resolver's
/// change token or the configuration fires.
/// </summary>
/// <remarks>
/// Servers are named after their service (<c>server1</c>); a service with several endpoints gives
/// <c>server1</c>, <c>server1#1</c>, … The first resolution runs before the proxy accepts requests.
/// </remarks>
public sealed partial class ServiceDiscoveryMembershipSource(
    IConfiguration configuration,
    ServiceEndpointResolver resolver,
    MembershipManager membership,
    IOptions<DiscoveryOptions> options,
    TimeProvider timeProvider,
    ILogger<ServiceDiscoveryMembershipSource> logger) : BackgroundService
{
    private readonly DiscoveryOptions _options = options.Value;
    private IChangeToken? _changeToken;

    /// <inheritdoc />
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // Resolve once before the server starts listening, so the first request already finds a ring.
        await RefreshAsync(cancellationToken).ConfigureAwait(false);
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            var changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            using (_changeToken?.RegisterChangeCallback(static state => ((TaskCompletionSource)state!).TrySetResult(), changed))
            using (stoppingToken.Register(static state => ((TaskCompletionSource)state!).TrySetResult(), changed))
            {
                await changed.Task.ConfigureAwait(false);
            }

            if (!stoppingToken.IsCancellationRequested)
            {
                await RefreshAsync(stoppingToken).ConfigureAwait(false);
            }
        }
    }

    /// <summary>Resolves every service now and applies the result; on failure keeps the last membership.</summary>
    public async Task RefreshAsync(CancellationToken cancellationToken)
    {
        var tokens = new List<IChangeToken> { configuration.GetReloadToken() };
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.ResolveTimeout);
            var discovered = new Dictionary<string, Uri>(StringComparer.Ordinal);
            foreach (var service in configuration.GetSection(_options.ServicesSection).GetChildren())
            {
                var source = await resolver.GetEndpointsAsync(_options.QueryFor(service.Key), timeout.Token).ConfigureAwait(false);
                tokens.Add(source.ChangeToken);
                for (var i = 0; i < source.Endpoints.Count; i++)
                {
                    if (TryGetAddress(source.Endpoints[i].EndPoint, out var address))
                    {
                        discovered[i == 0 ? service.Key : $"{service.Key}#{i}"] = address;
                    }
                    else
                    {
                        LogUnusableEndpoint(logger, service.Key, source.Endpoints[i].ToString() ?? "?");
                    }
                }
            }

            membership.SetDiscovered(discovered);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            LogResolutionFailed(logger, ex);
            tokens.Add(new CancellationChangeToken(new CancellationTokenSource(_options.RetryDelay, timeProvider).Token));
        }

        _changeToken = new CompositeChangeToken(tokens);
    }

    private bool TryGetAddress(EndPoint endPoint, out Uri address)
    {
        // A bare host and port carries no scheme: use the one asked for first.
        var scheme = _options.Scheme.StartsWith(Uri.UriSchemeHttps, StringComparison.OrdinalIgnoreCase)
            ? Uri.UriSchemeHttps
            : Uri.UriSchemeHttp;
        switch (endPoint)
        {
            case UriEndPoint uri:
                address = uri.Uri;
                return true;
            case IPEndPoint ip:
                address = new UriBuilder(scheme, ip.Address.ToString(), ip.Port).Uri;
                return true;
            case DnsEndPoint dns:
                address = new UriBuilder(scheme, dns.Host, dns.Port).Uri;
                return true;
            default:
                address = null!;
                return false;
        }
    }

    [LoggerMessage(EventId = 110, Level = LogLevel.Warning, Message = "Service discovery failed; keeping the current ring membership")]
    private static partial void LogResolutionFailed(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 111, Level = LogLevel.Warning, Message = "Service {Service} has an endpoint the proxy cannot route to: {Endpoint}")]
    private static partial void LogUnusableEndpoint(ILogger logger, string service, string endpoint);
}
