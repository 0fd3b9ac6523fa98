using System.Globalization;
using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using LoadBalancer.Proxy.Provisioning;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Kubernetes;

/// <summary>
/// Kubernetes as the engine behind <c>/add</c> and <c>/rm</c> (<c>Provisioning:Engine=Kubernetes</c>): changes the
/// servers' StatefulSet's scale subresource; its pods join and leave the ring through the EndpointSlices that
/// <see cref="KubernetesMembershipSource"/> watches, so every proxy replica follows the same change.
/// </summary>
/// <remarks>
/// A StatefulSet names its pods by ordinal and adds and removes at the top: scaling from r to r + k creates
/// <c>server-r</c> … <c>server-(r+k-1)</c>, scaling down removes the highest first. So requested names must be
/// exactly those, and only those can be removed. Every change is a JSON patch that first tests the replicas read,
/// so two proxy replicas changing the scale at once do not both apply: the API refuses the second (422, a failed
/// test), which answers 409 here.
/// </remarks>
internal sealed partial class KubernetesScaler(
    IKubernetes client,
    KubernetesMembershipSource source,
    IOptions<KubernetesOptions> options,
    TimeProvider time,
    ILogger<KubernetesScaler> logger) : IServerProvisioner, IChoosesRemovals
{
    // How often a scale-up looks whether its pods are ready servers in the list yet; the watch delivers them in milliseconds.
    private static readonly TimeSpan ReadyPoll = TimeSpan.FromMilliseconds(20);

    private readonly string _name = options.Value.StatefulSetName;

    /// <summary>The ready servers, from the watched slices (the StatefulSet's pods that are ready now).</summary>
    public Task<ProvisionedList> ListAsync(long? after, CancellationToken cancellationToken)
    {
        // Membership itself comes from the watch (KubernetesMembershipSource); this answers at once, from what it saw.
        var (version, addresses) = source.ServerAddresses;
        var list = addresses.OrderBy(server => server.Key, StringComparer.Ordinal).Select(server => new ProvisionedServer(server.Key, server.Value, null)).ToList();
        return Task.FromResult(new ProvisionedList(version, int.MaxValue, list));
    }

    /// <summary>Scales up by <paramref name="count"/>, then waits for the new pods to be ready servers; scales back if they are not in time.</summary>
    public async Task<ProvisioningResult> StartAsync(IReadOnlyList<string> names, int count, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        var (replicas, unread) = await ReadAsync(cancellationToken).ConfigureAwait(false);
        if (unread is not null)
        {
            return unread;
        }

        var next = Ordinals(replicas, count);
        for (var i = 0; i < names.Count; i++)
        {
            if (i >= next.Count || !string.Equals(names[i], next[i], StringComparison.Ordinal))
            {
                return Refused(StatusCodes.Status400BadRequest,
                    $"<Error> The StatefulSet '{_name}' names its new pods by ordinal: adding {count} gives {string.Join(", ", next)}; ask for those names in that order, or for none");
            }
        }

        var refused = await PatchAsync(replicas, replicas + count, cancellationToken).ConfigureAwait(false);
        if (refused is not null)
        {
            return refused;
        }

        LogScaled(logger, _name, replicas, replicas + count);
        try
        {
            while (source.Servers is not { } ready || !next.All(ready.Contains))
            {
                if (time.GetElapsedTime(started) >= timeout)
                {
                    var back = await ScaleBackAsync().ConfigureAwait(false);
                    LogNotReady(logger, string.Join(", ", next), timeout, back is null);
                    return Refused(StatusCodes.Status504GatewayTimeout, back is null
                        ? $"<Error> Server(s) {string.Join(", ", next)} were not ready within {Seconds(timeout)}; the StatefulSet '{_name}' was scaled back to {replicas}"
                        : $"<Error> Server(s) {string.Join(", ", next)} were not ready within {Seconds(timeout)}, and scaling the StatefulSet '{_name}' back to {replicas} failed: {back.Error}");
                }

                await Task.Delay(ReadyPoll, time, cancellationToken).ConfigureAwait(false);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // The caller went away before the pods were ready: nobody will hear of them, so they go again too.
            var back = await ScaleBackAsync().ConfigureAwait(false);
            LogAbandoned(logger, string.Join(", ", next), back is null);
            throw;
        }

        return new ProvisioningResult(StatusCodes.Status200OK, null, next);

        // Takes the pods away again, so the call changes nothing. Nobody else may have changed the scale since (the
        // patch tests for ours).
        Task<ProvisioningResult?> ScaleBackAsync() => PatchAsync(replicas + count, replicas, CancellationToken.None);
    }

    /// <summary>Scales down by the number of <paramref name="names"/>, which must be the highest ordinals.</summary>
    public async Task<ProvisioningResult> StopAsync(IReadOnlyList<string> names, TimeSpan drain, CancellationToken cancellationToken)
    {
        var (replicas, unread) = await ReadAsync(cancellationToken).ConfigureAwait(false);
        if (unread is not null)
        {
            return unread;
        }

        if (names.Count >= replicas)
        {
            return Refused(StatusCodes.Status409Conflict, $"<Error> Cannot remove {names.Count} pod(s): the StatefulSet '{_name}' has {replicas} and at least one must stay");
        }

        var top = Ordinals(replicas - names.Count, names.Count);
        if (!top.ToHashSet(StringComparer.Ordinal).SetEquals(names))
        {
            return Refused(StatusCodes.Status400BadRequest,
                $"<Error> The StatefulSet '{_name}' removes its highest ordinals first: removing {names.Count} takes {string.Join(", ", top)}; ask for those names, or for none");
        }

        // The pods' termination (grace period, readiness off first) is the drain: the endpoint turns not ready before the process ends.
        var refused = await PatchAsync(replicas, replicas - names.Count, cancellationToken).ConfigureAwait(false);
        if (refused is not null)
        {
            return refused;
        }

        LogScaled(logger, _name, replicas, replicas - names.Count);
        return new ProvisioningResult(StatusCodes.Status200OK, null, top);
    }

    /// <summary>A <c>/rm</c> without names takes the highest ordinals among the servers, as the StatefulSet will.</summary>
    public void Choose(IReadOnlyList<string> active, List<string> chosen, int count)
    {
        foreach (var name in active.Where(name => !chosen.Contains(name)).OrderByDescending(Ordinal).ThenByDescending(name => name, StringComparer.Ordinal))
        {
            if (chosen.Count >= count)
            {
                return;
            }

            chosen.Add(name);
        }
    }

    /// <summary>The StatefulSet's replicas now, or why they could not be read.</summary>
    private async Task<(int Replicas, ProvisioningResult? Refused)> ReadAsync(CancellationToken cancellationToken)
    {
        try
        {
            var scale = await client.AppsV1.ReadNamespacedStatefulSetScaleAsync(_name, source.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            return (scale.Spec?.Replicas ?? 0, null);
        }
        catch (Exception ex) when (ex is HttpOperationException or HttpRequestException)
        {
            return (0, Unreachable("read", ex));
        }
    }

    /// <summary>Replaces the replicas, after testing that they are still <paramref name="from"/>; null when done.</summary>
    private async Task<ProvisioningResult?> PatchAsync(int from, int to, CancellationToken cancellationToken)
    {
        var patch = new V1Patch(
            $$"""[{"op":"test","path":"/spec/replicas","value":{{from}}},{"op":"replace","path":"/spec/replicas","value":{{to}}}]""",
            V1Patch.PatchType.JsonPatch);
        try
        {
            await client.AppsV1.PatchNamespacedStatefulSetScaleAsync(patch, _name, source.Namespace, cancellationToken: cancellationToken).ConfigureAwait(false);
            return null;
        }
        catch (HttpOperationException ex) when (ex.Response.StatusCode is HttpStatusCode.UnprocessableEntity or HttpStatusCode.Conflict)
        {
            // The test failed: someone (another proxy replica, an autoscaler, kubectl) changed the scale since it was read.
            LogRaced(logger, _name, from);
            return Refused(StatusCodes.Status409Conflict,
                $"<Error> The StatefulSet '{_name}' was scaled by someone else at the same time (it no longer has {from} replicas); nothing was changed, try again");
        }
        catch (Exception ex) when (ex is HttpOperationException or HttpRequestException)
        {
            return Unreachable("scale", ex);
        }
    }

    private List<string> Ordinals(int first, int count) =>
        Enumerable.Range(first, count).Select(ordinal => $"{_name}-{ordinal.ToString(CultureInfo.InvariantCulture)}").ToList();

    private int Ordinal(string name) =>
        name.StartsWith(_name + "-", StringComparison.Ordinal) && int.TryParse(name.AsSpan(_name.Length + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var ordinal)
            ? ordinal
            : -1;

    private ProvisioningResult Unreachable(string what, Exception ex) =>
        Refused(StatusCodes.Status502BadGateway,
            $"<Error> The proxy could not {what} the StatefulSet '{_name}''s scale through the Kubernetes API: " +
            (ex is HttpOperationException http ? $"{(int)http.Response.StatusCode} {http.Response.ReasonPhrase}" : ex.Message));

    private static ProvisioningResult Refused(int status, string message) => new(status, message, []);

    private static string Seconds(TimeSpan span) => $"{span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s";

    [LoggerMessage(EventId = 130, Level = LogLevel.Information, Message = "Kubernetes: scaled StatefulSet {StatefulSet} from {From} to {To} replicas")]
    private static partial void LogScaled(ILogger logger, string statefulSet, int from, int to);

    [LoggerMessage(EventId = 131, Level = LogLevel.Warning, Message = "Kubernetes: StatefulSet {StatefulSet} no longer had {From} replicas when the proxy changed it (another change at the same time)")]
    private static partial void LogRaced(ILogger logger, string statefulSet, int from);

    [LoggerMessage(EventId = 132, Level = LogLevel.Warning, Message = "Kubernetes: pod(s) {Servers} not ready within {Timeout}; scaled back: {ScaledBack}")]
    private static partial void LogNotReady(ILogger logger, string servers, TimeSpan timeout, bool scaledBack);

    [LoggerMessage(EventId = 133, Level = LogLevel.Warning, Message = "Kubernetes: the /add of pod(s) {Servers} was abandoned by its caller before they were ready; scaled back: {ScaledBack}")]
    private static partial void LogAbandoned(ILogger logger, string servers, bool scaledBack);
}
