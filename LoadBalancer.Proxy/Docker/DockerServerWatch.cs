using System.Threading.Channels;
using Docker.DotNet;
using Docker.DotNet.Models;
using LoadBalancer.Proxy.Common;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Docker;

/// <summary>
/// The stack's member servers as the Docker engine shows them: listed at start, then listed again on every event of
/// a server container (start, die, health_status, rename, destroy), read from Docker's event stream, and after
/// <see cref="DockerOptions.ResyncInterval"/> without one. The list, with
/// a version that grows on every change, is what <see cref="DockerProvisioner.ListAsync"/> hands to the proxy's
/// membership; every replica watching the same engine builds the same one.
/// </summary>
/// <remarks>
/// The event stream is opened before each list, so nothing that happens between the two is missed; on reconnecting
/// after the engine was lost the list is the resync. While the engine cannot be reached the last members stay, the
/// proxy's <c>/health</c> says Degraded (<see cref="DockerMembershipHealth"/>), and it retries with a doubling,
/// jittered delay. An event only says "something changed": the list is the truth, so a lost or repeated event does no
/// harm.
/// </remarks>
internal sealed partial class DockerServerWatch(
    IDockerClient client,
    DockerMembershipHealth health,
    IOptions<DockerOptions> options,
    TimeProvider time,
    IRandomFactory random,
    ILogger<DockerServerWatch> logger) : BackgroundService
{
    private readonly DockerOptions _options = options.Value;
    private readonly SemaphoreSlim _listing = new(1, 1);
    private readonly Lock _gate = new();
    private TaskCompletionSource _changed = NewSignal();
    private volatile DockerView? _view;
    private volatile DockerStack? _stack;
    private bool _lostLogged;

    // The next wait after a failure: doubled by each one, back to Docker:RetryDelay by each list that succeeds.
    private TimeSpan _retryDelay = options.Value.RetryDelay;

    /// <summary>The stack and network the servers are found in, once the engine was reached.</summary>
    public DockerStack? Stack => _stack;

    /// <summary>The members from the last list, or null before the first.</summary>
    public DockerView? View => _view;

    /// <summary>The members once their version differs from <paramref name="after"/> (at once for null), or after <paramref name="wait"/>.</summary>
    public async Task<DockerView> WaitAsync(long? after, TimeSpan wait, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        while (true)
        {
            Task changed;
            lock (_gate)
            {
                var view = _view;
                if (view is not null && (after is null || view.Version != after || time.GetElapsedTime(started) >= wait))
                {
                    return view;
                }

                changed = _changed.Task;
            }

            try
            {
                await changed.WaitAsync(wait, time, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // The long poll ends without a change: the same list again (or, before the first, wait on).
            }
        }
    }

    /// <inheritdoc />
    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        // A list before the proxy listens, so the first request already finds a table (if the engine answers).
        try
        {
            await ResyncAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            Lost(ex, TimeSpan.Zero);
        }

        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <summary>Lists the stack's healthy servers now and, if they changed, publishes them under a new version.</summary>
    public async Task ResyncAsync(CancellationToken cancellationToken)
    {
        await _listing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.RequestTimeout);
            var stack = _stack ??= await ResolveStackAsync(timeout.Token).ConfigureAwait(false);
            var healthy = await client.Containers.ListContainersAsync(new ContainersListParameters
            {
                Filters = Filters((ServerContainers.ServerLabel, "label"), ("healthy", "health")),
            }, timeout.Token).ConfigureAwait(false);
            var members = ServerContainers.Members(healthy, stack.Group, stack.Network, _options.HttpPort, _options.H2cPort);
            Apply(members);
            if (_lostLogged)
            {
                _lostLogged = false;
                LogReconnected(logger, members.Count);
            }

            health.Reached(members.Count);
            _retryDelay = _options.RetryDelay;
        }
        finally
        {
            _listing.Release();
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await WatchAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception ex)
            {
                // Jittered, so that every proxy replica does not come back to the engine at the same instant.
                var wait = _retryDelay * (0.5 + (random.Create().NextDouble() / 2));
                Lost(ex, wait);
                await Task.Delay(wait, time, stoppingToken).ConfigureAwait(false);
                _retryDelay = TimeSpan.FromTicks(Math.Min(_retryDelay.Ticks * 2, _options.MaxRetryDelay.Ticks));
            }
        }
    }

    // Lists, then follows the events until the stream ends or fails. Opened with `since` a moment before the list,
    // so the engine replays whatever happened between the two; a burst of events gives one list, not one each.
    private async Task WatchAsync(CancellationToken stoppingToken)
    {
        var since = time.GetUtcNow().AddSeconds(-1).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        await ResyncAsync(stoppingToken).ConfigureAwait(false);
        var dirty = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        using var watching = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        var events = client.System.MonitorEventsAsync(
            new ContainerEventsParameters { Since = since, Filters = Filters(("container", "type"), (ServerContainers.ServerLabel, "label")) },
            new EventSignal(dirty.Writer, logger),
            watching.Token);
        try
        {
            while (true)
            {
                // An event, or Docker:ResyncInterval without one: a stream that died without a word (no error, no
                // end) would otherwise keep the membership as it was for good.
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(watching.Token);
                var signalled = dirty.Reader.WaitToReadAsync(wait.Token).AsTask();
                var quiet = Task.Delay(_options.ResyncInterval, time, wait.Token);
                var first = await Task.WhenAny(events, signalled, quiet).ConfigureAwait(false);
                if (first == events)
                {
                    await events.ConfigureAwait(false);
                    throw new IOException("the engine ended the event stream");
                }

                await first.ConfigureAwait(false);
                await wait.CancelAsync().ConfigureAwait(false);
                dirty.Reader.TryRead(out _);
                await ResyncAsync(stoppingToken).ConfigureAwait(false);
            }
        }
        finally
        {
            await watching.CancelAsync().ConfigureAwait(false);
            try
            {
                await events.ConfigureAwait(false);
            }
            catch (Exception)
            {
                // Ended by the cancellation above, or already failed: the caller reports the first failure.
            }
        }
    }

    /// <summary>A filter of the Docker API: each (value, key) pair, values of one key ANDed.</summary>
    internal static Dictionary<string, IDictionary<string, bool>> Filters(params (string Value, string Key)[] filters)
    {
        var result = new Dictionary<string, IDictionary<string, bool>>(StringComparer.Ordinal);
        foreach (var (value, key) in filters)
        {
            if (!result.TryGetValue(key, out var values))
            {
                result[key] = values = new Dictionary<string, bool>(StringComparer.Ordinal);
            }

            values[value] = true;
        }

        return result;
    }

    // Docker:Group and Docker:Network, or what the proxy's own container says (its hostname is its container id
    // unless one was set): compose's project and the first network it is on.
    private async Task<DockerStack> ResolveStackAsync(CancellationToken cancellationToken)
    {
        if (_options.Group is { Length: > 0 } group && _options.Network is { Length: > 0 } network)
        {
            return new DockerStack(group, network);
        }

        var self = Environment.MachineName;
        ContainerInspectResponse own;
        try
        {
            own = await client.Containers.InspectContainerAsync(self, cancellationToken).ConfigureAwait(false);
        }
        catch (DockerContainerNotFoundException)
        {
            throw new InvalidOperationException(
                $"Docker:Group and Docker:Network are not both set, and the proxy's own container ('{self}', its hostname) is not known to the engine: set them, or run the proxy in the stack's compose project");
        }

        var resolved = new DockerStack(
            _options.Group is { Length: > 0 } g ? g
                : own.Config?.Labels is { } labels && labels.TryGetValue(ServerContainers.ComposeProjectLabel, out var project) ? project
                : throw new InvalidOperationException($"Docker:Group is not set and the proxy's own container ('{self}') has no compose project label to take it from"),
            _options.Network is { Length: > 0 } n ? n
                : own.NetworkSettings?.Networks?.Keys.Order(StringComparer.Ordinal).FirstOrDefault()
                ?? throw new InvalidOperationException($"Docker:Network is not set and the proxy's own container ('{self}') is on no network"));
        LogResolved(logger, resolved.Group, resolved.Network);
        return resolved;
    }

    private void Apply(SortedDictionary<string, DockerMember> members)
    {
        lock (_gate)
        {
            if (_view is { } current && current.Members.Count == members.Count && members.All(m => current.Members.TryGetValue(m.Key, out var was) && was == m.Value))
            {
                return;
            }

            _view = new DockerView((_view?.Version ?? 0) + 1, members);
            var changed = _changed;
            _changed = NewSignal();
            changed.SetResult();
        }

        LogListed(logger, _view.Version, members.Count, string.Join(", ", members.Keys));
    }

    private void Lost(Exception ex, TimeSpan retryIn)
    {
        var reason = ex is DockerApiException api ? $"{(int)api.StatusCode} {api.StatusCode} from the engine" : ex.Message;
        health.Lost(reason);
        if (!_lostLogged)
        {
            // Once per outage as a warning, with the exception; the retries after it at Debug.
            _lostLogged = true;
            LogLost(logger, ex, _options.Endpoint, _view?.Members.Count ?? 0, retryIn);
        }
        else
        {
            LogStillLost(logger, reason, retryIn);
        }
    }

    /// <summary>Turns each event into "list again" (inline, on the stream's reader: Progress&lt;T&gt; would post it elsewhere).</summary>
    private sealed class EventSignal(ChannelWriter<bool> dirty, ILogger logger) : IProgress<Message>
    {
        public void Report(Message value)
        {
            LogEvent(logger, value.Action, value.Actor?.Attributes?.TryGetValue(ServerContainers.ServerLabel, out var name) == true ? name : value.ID);
            dirty.TryWrite(true);
        }
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    [LoggerMessage(EventId = 820, Level = LogLevel.Debug, Message = "Docker: server containers v{Version}: {Count} healthy ({Servers})")]
    private static partial void LogListed(ILogger logger, long version, int count, string servers);

    [LoggerMessage(EventId = 821, Level = LogLevel.Warning,
        Message = "Docker: lost the engine at {Endpoint}; keeping the last membership ({Members} servers), retrying in {RetryIn}")]
    private static partial void LogLost(ILogger logger, Exception exception, Uri endpoint, int members, TimeSpan retryIn);

    [LoggerMessage(EventId = 822, Level = LogLevel.Debug, Message = "Docker: the engine is still unreachable ({Reason}); retrying in {RetryIn}")]
    private static partial void LogStillLost(ILogger logger, string reason, TimeSpan retryIn);

    [LoggerMessage(EventId = 823, Level = LogLevel.Information, Message = "Docker: the engine answers again; {Members} healthy servers")]
    private static partial void LogReconnected(ILogger logger, int members);

    [LoggerMessage(EventId = 824, Level = LogLevel.Information, Message = "Docker: the servers are the containers of group {Group} on network {Network}")]
    private static partial void LogResolved(ILogger logger, string group, string network);

    [LoggerMessage(EventId = 825, Level = LogLevel.Debug, Message = "Docker: event {Action} of server {Server}")]
    private static partial void LogEvent(ILogger logger, string action, string server);
}

/// <summary>The stack whose servers these are (their group) and the network they are reached on.</summary>
internal sealed record DockerStack(string Group, string Network);

/// <summary>The member servers by ring name at a version.</summary>
internal sealed record DockerView(long Version, IReadOnlyDictionary<string, DockerMember> Members);
