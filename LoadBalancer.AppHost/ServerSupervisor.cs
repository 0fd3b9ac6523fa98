using Aspire.Hosting.ApplicationModel;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.AppHost;

/// <summary>
/// Keeps the N servers alive, as the assignment asks of the balancer: a server that exits on its own (crash, kill,
/// or any exit that no stop command asked for) is started again at once with its start command. A server stopped on
/// purpose (the dashboard's or a test's stop command) passes through <c>Stopping</c> first and stays stopped.
/// </summary>
/// <remarks>
/// Observed with Aspire 13.6.5: a killed server goes Running → Finished (exit code 137) with no Stopping state; a
/// stop command gives Running → Stopping → Finished (exit code 0). Notifications repeat a state many times (health
/// updates), so only transitions count.
/// </remarks>
internal sealed partial class ServerSupervisor(
    ResourceNotificationService notifications,
    ResourceCommandService commands,
    IHostApplicationLifetime lifetime,
    IReadOnlySet<string> servers,
    ILogger<ServerSupervisor> logger) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var watched = new Dictionary<string, Watch>(StringComparer.Ordinal);
        try
        {
            await foreach (var update in notifications.WatchAsync(stoppingToken).ConfigureAwait(false))
            {
                if (!servers.Contains(update.Resource.Name))
                {
                    continue;
                }

                var state = update.Snapshot.State?.Text;
                var watch = watched.GetValueOrDefault(update.ResourceId);
                if (state is null || state == watch.State)
                {
                    continue;
                }

                watched[update.ResourceId] = watch.Next(state);
                if (watch.Running && !watch.StopRequested && IsExit(state) && !lifetime.ApplicationStopping.IsCancellationRequested)
                {
                    LogCrashed(logger, update.Resource.Name, state, update.Snapshot.ExitCode);
                    _ = RespawnAsync(update.ResourceId, update.Resource.Name, stoppingToken);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // The AppHost is shutting down.
        }
    }

    private async Task RespawnAsync(string resourceId, string name, CancellationToken cancellationToken)
    {
        try
        {
            var result = await commands.ExecuteCommandAsync(resourceId, KnownResourceCommands.StartCommand, cancellationToken).ConfigureAwait(false);
            if (result.Success)
            {
                LogRespawned(logger, name);
            }
            else
            {
                LogRespawnFailed(logger, name, result.Message ?? "no reason given", null);
            }
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogRespawnFailed(logger, name, ex.Message, ex);
        }
        catch (OperationCanceledException)
        {
            // The AppHost is shutting down.
        }
    }

    private static bool IsExit(string state) =>
        state == KnownResourceStates.Finished || state == KnownResourceStates.Exited || state == KnownResourceStates.FailedToStart;

    /// <summary>What the supervisor knows of one server: its last state, whether it ran, whether a stop was asked for.</summary>
    private readonly record struct Watch(string? State, bool Running, bool StopRequested)
    {
        public Watch Next(string state) => state switch
        {
            _ when state == KnownResourceStates.Running => new Watch(state, Running: true, StopRequested: false),
            _ when state == KnownResourceStates.Stopping => this with { State = state, StopRequested = true },
            _ when IsExit(state) => new Watch(state, Running: false, StopRequested: false),
            _ => this with { State = state },
        };
    }

    [LoggerMessage(EventId = 1, Level = LogLevel.Warning, Message = "Server {Server} exited on its own ({State}, exit code {ExitCode}); starting it again")]
    private static partial void LogCrashed(ILogger logger, string server, string state, int? exitCode);

    [LoggerMessage(EventId = 2, Level = LogLevel.Information, Message = "Server {Server} started again")]
    private static partial void LogRespawned(ILogger logger, string server);

    [LoggerMessage(EventId = 3, Level = LogLevel.Error, Message = "Server {Server} could not be started again: {Reason}")]
    private static partial void LogRespawnFailed(ILogger logger, string server, string reason, Exception? exception);
}
