using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using LoadBalancer.Proxy.Common;
using LoadBalancer.Proxy.Membership;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Kubernetes;

/// <summary>
/// Feeds ring membership from the Kubernetes API: lists the EndpointSlices of the servers' headless Service, then
/// watches them from the list's resourceVersion, and hands the ready endpoints to <see cref="MembershipManager"/>
/// after every change, as <see cref="ServiceDiscoveryMembershipSource"/> does for service discovery.
/// </summary>
/// <remarks>
/// The API's contract (Kubernetes API concepts, "Efficient detection of changes"): a watch ends when the server's
/// timeout passes (watch again from the last resourceVersion seen, which BOOKMARK events keep fresh), or with an
/// ERROR event whose Status is 410 Gone when that version is no longer kept (list again, then watch). A lost
/// connection keeps the last membership, says so in <c>/health</c> (<see cref="KubernetesMembershipHealth"/>) and is
/// retried with a doubling, jittered delay; on reconnecting the proxy lists from the last version it saw (a cheap read
/// from the API server's cache) and, if that too is gone (410), from scratch. Every proxy replica watches the same
/// slices, so all of them agree on the servers without talking to each other.
/// </remarks>
public sealed partial class KubernetesMembershipSource(
    IKubernetes client,
    MembershipManager membership,
    KubernetesMembershipHealth health,
    IOptions<KubernetesOptions> options,
    IOptions<DiscoveryOptions> discovery,
    TimeProvider time,
    IRandomFactory random,
    ILogger<KubernetesMembershipSource> logger) : BackgroundService, LoadBalancer.Proxy.Provisioning.IEngineServers
{
    private readonly KubernetesOptions _options = options.Value;
    private readonly string _namespace = options.Value.Namespace is { Length: > 0 } ns ? ns : options.Value.ApiServer is null ? InClusterNamespace() : "default";
    private readonly string _selector = $"{EndpointSliceServers.ServiceNameLabel}={options.Value.ServiceName}";
    private readonly string _portName = discovery.Value.EndpointName is { Length: > 0 } port ? port : "http";
    private readonly string _scheme = discovery.Value.Scheme.StartsWith(Uri.UriSchemeHttps, StringComparison.OrdinalIgnoreCase) ? Uri.UriSchemeHttps : Uri.UriSchemeHttp;
    private readonly Dictionary<string, V1EndpointSlice> _slices = new(StringComparer.Ordinal);
    private string? _resourceVersion;
    private bool _listed;
    private int _ready;
    private bool _lostLogged;
    private volatile Snapshot? _snapshot;

    /// <summary>The namespace whose EndpointSlices are watched.</summary>
    public string Namespace => _namespace;

    /// <summary>The ready servers' names from the last list or watch event, or null before the first list.</summary>
    public IReadOnlySet<string>? Servers => _snapshot?.Servers;

    /// <summary>How many times the servers were set, and the ready servers' addresses by name then.</summary>
    public (long Version, IReadOnlyDictionary<string, Uri> Addresses) ServerAddresses =>
        _snapshot is { } now ? (now.Version, now.Addresses) : (0, new Dictionary<string, Uri>());

    /// <inheritdoc />
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // List once before the server listens, so the first request already finds a ring (if the API answers).
        try
        {
            await ListAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Lost(ex, TimeSpan.Zero);
        }

        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var delay = _options.RetryDelay;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                if (!_listed)
                {
                    await ListAsync(stoppingToken).ConfigureAwait(false);
                }

                // Ends when the server's timeout passes (watch again from the version reached) or the version expired.
                _listed = await WatchAsync(stoppingToken).ConfigureAwait(false);
                delay = _options.RetryDelay;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Jittered, so that every proxy replica does not come back to the API server at the same instant.
                var wait = delay * (0.5 + (random.Create().NextDouble() / 2));
                _listed = false;
                Lost(ex, wait);
                await Task.Delay(wait, time, stoppingToken).ConfigureAwait(false);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRetryDelay.Ticks));
            }
        }
    }

    /// <summary>Lists the slices: from the last version seen when there is one, from scratch when that is gone.</summary>
    private async Task ListAsync(CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RequestTimeout);
        V1EndpointSliceList list;
        try
        {
            list = await client.DiscoveryV1.ListNamespacedEndpointSliceAsync(
                _namespace, labelSelector: _selector, resourceVersion: _resourceVersion,
                resourceVersionMatch: _resourceVersion is null ? null : "NotOlderThan", cancellationToken: timeout.Token).ConfigureAwait(false);
        }
        catch (HttpOperationException ex) when (ex.Response.StatusCode == HttpStatusCode.Gone && _resourceVersion is not null)
        {
            LogListVersionGone(logger, _resourceVersion);
            _resourceVersion = null;
            list = await client.DiscoveryV1.ListNamespacedEndpointSliceAsync(
                _namespace, labelSelector: _selector, cancellationToken: timeout.Token).ConfigureAwait(false);
        }

        _slices.Clear();
        foreach (var slice in list.Items)
        {
            _slices[slice.Metadata.Name] = slice;
        }

        _resourceVersion = list.Metadata.ResourceVersion;
        if (_lostLogged)
        {
            LogReconnected(logger, health.LostFor ?? TimeSpan.Zero);
            _lostLogged = false;
        }

        Apply();
        _listed = true;
        LogListed(logger, list.Items.Count, _options.ServiceName, _namespace, _resourceVersion, _ready);
    }

    /// <summary>Watches from the last version until the server ends the watch.</summary>
    /// <returns>False when the version expired (410 Gone): the caller lists again.</returns>
    private async Task<bool> WatchAsync(CancellationToken cancellationToken)
    {
        Exception? error = null;
        // A watch that hears nothing, not even a bookmark, past the server's own timeout is a connection gone quiet.
        using var quiet = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        quiet.CancelAfter(_options.WatchTimeout + _options.RequestTimeout);
        var events = client.DiscoveryV1.WatchListNamespacedEndpointSliceAsync(
            _namespace, allowWatchBookmarks: true, labelSelector: _selector, resourceVersion: _resourceVersion,
            timeoutSeconds: (int)Math.Ceiling(_options.WatchTimeout.TotalSeconds), onError: e => error ??= e, cancellationToken: quiet.Token);
        try
        {
            await foreach (var (type, slice) in events.ConfigureAwait(false))
            {
                _resourceVersion = slice.Metadata?.ResourceVersion ?? _resourceVersion;
                switch (type)
                {
                    case WatchEventType.Added or WatchEventType.Modified:
                        _slices[slice.Metadata!.Name] = slice;
                        break;
                    case WatchEventType.Deleted:
                        _slices.Remove(slice.Metadata!.Name);
                        break;
                    default:
                        // BOOKMARK: only the version moves on.
                        health.Reached(_ready);
                        continue;
                }

                Apply();
            }
        }
        catch (OperationCanceledException) when (quiet.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw new TimeoutException($"The watch heard nothing for {_options.WatchTimeout + _options.RequestTimeout}.");
        }

        if (error is KubernetesException { Status.Code: (int)HttpStatusCode.Gone })
        {
            // The version we watched from is no longer kept: events may have been missed, so list again.
            // A routine event on a healthy API: /health is not told.
            LogWatchExpired(logger, _resourceVersion);
            _resourceVersion = null;
            return false;
        }

        if (error is not null)
        {
            throw error is KubernetesException status
                ? new InvalidOperationException($"The watch ended with an ERROR event: {status.Status?.Code} {status.Status?.Reason}: {status.Status?.Message}", error)
                : error;
        }

        return true;
    }

    private void Apply()
    {
        var servers = EndpointSliceServers.From(_slices.Values, _portName, _scheme);
        // Known as the StatefulSet's before the table shows them, so a /rm right after the /add that waited for the
        // table scales them down.
        _snapshot = new Snapshot((_snapshot?.Version ?? 0) + 1, servers.Keys.ToHashSet(StringComparer.Ordinal), servers);
        membership.SetDiscovered(servers);
        _ready = servers.Count;
        health.Reached(_ready);
    }

    private void Lost(Exception ex, TimeSpan retryIn)
    {
        var reason = ex switch
        {
            HttpOperationException http => $"{(int)http.Response.StatusCode} {http.Response.ReasonPhrase} from the API server",
            _ => ex.Message,
        };
        health.Lost(reason);
        if (!_lostLogged)
        {
            // Once per outage as a warning, with the exception; the retries after it at Debug.
            _lostLogged = true;
            LogApiLost(logger, ex, _options.ServiceName, _namespace, membership.CurrentServers.Count, retryIn);
        }
        else
        {
            LogStillLost(logger, reason, retryIn);
        }
    }

    private sealed record Snapshot(long Version, IReadOnlySet<string> Servers, IReadOnlyDictionary<string, Uri> Addresses);

    private static string InClusterNamespace() =>
        File.Exists("/var/run/secrets/kubernetes.io/serviceaccount/namespace")
            ? File.ReadAllText("/var/run/secrets/kubernetes.io/serviceaccount/namespace").Trim()
            : "default";

    [LoggerMessage(EventId = 120, Level = LogLevel.Information,
        Message = "Kubernetes: listed {Slices} EndpointSlices of Service {Service} in namespace {Namespace} at version {Version}: {Ready} ready servers")]
    private static partial void LogListed(ILogger logger, int slices, string service, string @namespace, string? version, int ready);

    [LoggerMessage(EventId = 121, Level = LogLevel.Information, Message = "Kubernetes: the watch from version {Version} expired (410 Gone); listing again")]
    private static partial void LogWatchExpired(ILogger logger, string? version);

    [LoggerMessage(EventId = 122, Level = LogLevel.Information, Message = "Kubernetes: version {Version} is no longer kept (410 Gone); listing from scratch")]
    private static partial void LogListVersionGone(ILogger logger, string? version);

    [LoggerMessage(EventId = 123, Level = LogLevel.Warning,
        Message = "Kubernetes: lost the API watching Service {Service} in namespace {Namespace}; keeping the last membership ({Servers} servers), retrying in {RetryIn}")]
    private static partial void LogApiLost(ILogger logger, Exception exception, string service, string @namespace, int servers, TimeSpan retryIn);

    [LoggerMessage(EventId = 124, Level = LogLevel.Debug, Message = "Kubernetes: the API is still unreachable ({Reason}); retrying in {RetryIn}")]
    private static partial void LogStillLost(ILogger logger, string reason, TimeSpan retryIn);

    [LoggerMessage(EventId = 125, Level = LogLevel.Information, Message = "Kubernetes: the API answers again after {LostFor}")]
    private static partial void LogReconnected(ILogger logger, TimeSpan lostFor);
}
