using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.AppHost.Provisioning;

/// <summary>
/// Runs the <see cref="ServerPool"/> with Aspire's own resource APIs: follows each slot's state (a slot is ready when
/// its resource runs and its health check passes), starts slots for <c>POST /add</c> and stops them for
/// <c>DELETE /rm</c>, one change at a time.
/// </summary>
internal sealed partial class ServerPoolController(
    ServerPool pool,
    IReadOnlyDictionary<string, IResourceBuilder<ProjectResource>> slots,
    ResourceNotificationService notifications,
    ResourceCommandService commands,
    TimeProvider timeProvider,
    ILogger<ServerPoolController> logger) : BackgroundService
{
    private readonly SemaphoreSlim _serial = new(1, 1);

    /// <summary>The pool this controller runs.</summary>
    public ServerPool Pool => pool;

    /// <summary>
    /// Starts <paramref name="count"/> servers, the first named <paramref name="names"/>, and answers once all are ready;
    /// if one is not ready within <paramref name="timeout"/>, every one started by this call is stopped again.
    /// </summary>
    public async Task<PoolOutcome> StartAsync(IReadOnlyList<string> names, int count, TimeSpan timeout, CancellationToken cancellationToken)
    {
        await _serial.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var reservation = pool.Reserve(names, count);
            if (reservation.Error is not null)
            {
                return PoolOutcome.Refused(reservation);
            }

            using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            deadline.CancelAfter(timeout);
            var starts = reservation.Slots.Select(slot => StartOneAsync(slot.Resource, slot.Name, deadline.Token)).ToArray();
            try
            {
                await Task.WhenAll(starts).ConfigureAwait(false);
                return PoolOutcome.Done(reservation.Slots.Select(slot => slot.Name).ToArray(), pool.List());
            }
            catch (Exception ex) when (ex is OperationCanceledException or InvalidOperationException)
            {
                var late = reservation.Slots.Where((_, i) => !starts[i].IsCompletedSuccessfully).Select(slot => slot.Name).ToArray();
                LogStartFailed(logger, string.Join(", ", late), ex.Message);
                // Given up: stopped again and their names freed, so the call changes nothing.
                await Task.WhenAll(reservation.Slots.Select(slot => StopOneAsync(slot.Resource))).ConfigureAwait(false);
                var reason = ex is InvalidOperationException ? ex.Message : $"not ready within {timeout.TotalSeconds:0.#} s";
                return PoolOutcome.Failed(504,
                    $"<Error> Server(s) {string.Join(", ", late)} did not become healthy ({reason}); every server this call started was stopped again");
            }
        }
        finally
        {
            _serial.Release();
        }
    }

    /// <summary>
    /// Stops the servers named <paramref name="names"/>: first off the list (every proxy stops sending them new
    /// requests), then, after <paramref name="drain"/> for the requests in flight, their resources are stopped.
    /// </summary>
    public async Task<PoolOutcome> StopAsync(IReadOnlyList<string> names, TimeSpan drain, CancellationToken cancellationToken)
    {
        await _serial.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            var reservation = pool.Retire(names);
            if (reservation.Error is not null)
            {
                return PoolOutcome.Refused(reservation);
            }

            await Task.Delay(drain, timeProvider, CancellationToken.None).ConfigureAwait(false);
            await Task.WhenAll(reservation.Slots.Select(slot => StopOneAsync(slot.Resource))).ConfigureAwait(false);
            LogStopped(logger, string.Join(", ", names));
            return PoolOutcome.Done(names, pool.List());
        }
        finally
        {
            _serial.Release();
        }
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            await foreach (var update in notifications.WatchAsync(stoppingToken).ConfigureAwait(false))
            {
                if (!slots.TryGetValue(update.Resource.Name, out var slot))
                {
                    continue;
                }

                var ready = update.Snapshot.State?.Text == KnownResourceStates.Running
                    && update.Snapshot.HealthStatus == Microsoft.Extensions.Diagnostics.HealthChecks.HealthStatus.Healthy;
                pool.SetReady(update.Resource.Name, ready, AddressOf(slot, "http"), AddressOf(slot, LoadBalancerResources.H2cEndpoint));
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The AppHost is shutting down.
        }
    }

    private async Task StartOneAsync(string resource, string name, CancellationToken cancellationToken)
    {
        LogStarting(logger, resource, name);
        var result = await commands.ExecuteCommandAsync(resource, KnownResourceCommands.StartCommand, cancellationToken).ConfigureAwait(false);
        if (!result.Success)
        {
            throw new InvalidOperationException($"{resource} could not be started: {result.Message}");
        }

        while (true)
        {
            var list = pool.List();
            if (list.Servers.Any(server => server.Resource == resource))
            {
                return;
            }

            await pool.WhenChangedAsync(list.Version).WaitAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    private async Task StopOneAsync(string resource)
    {
        try
        {
            var result = await commands.ExecuteCommandAsync(resource, KnownResourceCommands.StopCommand, CancellationToken.None).ConfigureAwait(false);
            if (!result.Success)
            {
                LogStopFailed(logger, resource, result.Message ?? "no reason given");
            }
        }
        finally
        {
            pool.Release(resource);
        }
    }

    private static Uri? AddressOf(IResourceBuilder<ProjectResource> slot, string endpoint)
    {
        var reference = slot.GetEndpoint(endpoint);
        return reference.Exists && reference.IsAllocated ? new Uri(reference.Url) : null;
    }

    [LoggerMessage(EventId = 20, Level = LogLevel.Information, Message = "Starting {Resource} as server {Server}")]
    private static partial void LogStarting(ILogger logger, string resource, string server);

    [LoggerMessage(EventId = 21, Level = LogLevel.Warning, Message = "Server(s) {Servers} did not become ready ({Reason}); stopping every server this call started")]
    private static partial void LogStartFailed(ILogger logger, string servers, string reason);

    [LoggerMessage(EventId = 22, Level = LogLevel.Information, Message = "Server(s) {Servers} drained and stopped")]
    private static partial void LogStopped(ILogger logger, string servers);

    [LoggerMessage(EventId = 23, Level = LogLevel.Error, Message = "{Resource} could not be stopped: {Reason}")]
    private static partial void LogStopFailed(ILogger logger, string resource, string reason);
}

/// <summary>The outcome of a pool change: the servers changed and the list after it, or a status code and message.</summary>
internal sealed record PoolOutcome(int Status, string? Error, IReadOnlyList<string> Changed, PoolList? List)
{
    public static PoolOutcome Done(IReadOnlyList<string> changed, PoolList list) => new(200, null, changed, list);

    public static PoolOutcome Failed(int status, string error) => new(status, error, [], null);

    public static PoolOutcome Refused(PoolReservation reservation) => Failed(
        reservation.Refusal switch
        {
            PoolRefusal.Conflict => 409,
            PoolRefusal.Unknown => 404,
            _ => 400,
        },
        reservation.Error!);
}
