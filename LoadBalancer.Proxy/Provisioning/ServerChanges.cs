using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Membership;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Provisioning;

/// <summary>
/// What <c>POST /add</c> and <c>DELETE /rm</c> do. With an engine that runs the servers, named servers are started
/// and stopped through it, and a call answers once this proxy's table shows the change (every other replica follows
/// from the same engine list); servers given by address, and every change when there is no engine, stay the proxy's
/// own (<see cref="MembershipManager"/>).
/// </summary>
internal sealed partial class ServerChanges(
    MembershipManager membership,
    TableState table,
    IOptions<ProvisioningOptions> options,
    TimeProvider timeProvider,
    ILogger<ServerChanges> logger,
    IServerProvisioner? provisioner = null,
    IEngineServers? source = null)
{
    // After a stop, the engine has already taken the servers off its list (before draining): they leave this table
    // within moments, and a proxy that does not see it in this long says so rather than waits on.
    private static readonly TimeSpan LeaveTimeout = TimeSpan.FromSeconds(10);

    private readonly ProvisioningOptions _options = options.Value;

    /// <summary>Adds <paramref name="count"/> servers, the first <paramref name="targets"/>.</summary>
    public async Task<MembershipEdit> AddAsync(IReadOnlyList<ServerReference> targets, int count, CancellationToken cancellationToken)
    {
        if (provisioner is null)
        {
            return membership.Add(targets, count);
        }

        var byAddress = targets.Where(target => target.Address is not null).ToList();
        var names = targets.Where(target => target.Address is null).Select(target => target.Name).ToList();
        var inRing = membership.CurrentServers;
        foreach (var name in names)
        {
            if (inRing.Contains(name, StringComparer.Ordinal))
            {
                return MembershipEdit.Refused(StatusCodes.Status409Conflict, $"<Error> Server '{name}' is already in the ring");
            }
        }

        var changed = new List<string>(count);
        var toStart = count - byAddress.Count;
        if (toStart > 0)
        {
            var started = timeProvider.GetTimestamp();
            var result = await provisioner.StartAsync(names, toStart, _options.StartTimeout, cancellationToken).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                return MembershipEdit.Refused(result.StatusCode, result.Error!);
            }

            var left = _options.StartTimeout - timeProvider.GetElapsedTime(started);
            if (!await WaitForTableAsync(servers => result.Changed.All(servers.Contains), left, cancellationToken).ConfigureAwait(false))
            {
                // Stopped again, so that a failed call changes nothing, as when the engine itself gives up.
                LogNotInTable(logger, string.Join(", ", result.Changed));
                var back = await provisioner.StopAsync(result.Changed, TimeSpan.Zero, CancellationToken.None).ConfigureAwait(false);
                return MembershipEdit.Refused(StatusCodes.Status504GatewayTimeout, back.Succeeded
                    ? $"<Error> Server(s) {string.Join(", ", result.Changed)} started but did not reach this proxy's table within {_options.StartTimeout.TotalSeconds:0.#} s; they were stopped again"
                    : $"<Error> Server(s) {string.Join(", ", result.Changed)} started but did not reach this proxy's table within {_options.StartTimeout.TotalSeconds:0.#} s, and stopping them again failed: {back.Error}");
            }

            changed.AddRange(result.Changed);
        }

        if (byAddress.Count > 0)
        {
            var edit = membership.Add(byAddress, byAddress.Count);
            if (!edit.Applied)
            {
                return edit;
            }

            changed.AddRange(edit.Changed);
        }

        return Answer(changed);
    }

    /// <summary>Removes <paramref name="count"/> servers, the first <paramref name="targets"/>, the rest chosen with <paramref name="random"/>.</summary>
    public async Task<MembershipEdit> RemoveAsync(IReadOnlyList<ServerReference> targets, int count, Random random, CancellationToken cancellationToken)
    {
        if (provisioner is null)
        {
            return membership.Remove(targets, count, random);
        }

        // Before the engine's first list this proxy cannot tell its servers from the engine's: a change made in its
        // own table alone would leave the other replicas routing differently.
        if (source?.Servers is not { } engineServers)
        {
            return MembershipEdit.Refused(StatusCodes.Status503ServiceUnavailable,
                "<Error> The engine's list of servers has not reached this proxy yet; try again in a moment");
        }

        var active = membership.CurrentServers;
        var chosen = new List<string>(count);
        foreach (var target in targets)
        {
            var name = target.Name;
            if (!active.Contains(name, StringComparer.Ordinal))
            {
                return membership.Known.Any(server => server.Name == name)
                    ? MembershipEdit.Refused(StatusCodes.Status409Conflict, $"<Error> Server '{target.Hostname}' is not in the ring (removed already)")
                    : MembershipEdit.Refused(StatusCodes.Status404NotFound, $"<Error> Unknown server '{target.Hostname}'");
            }

            chosen.Add(name);
        }

        if (count >= active.Count)
        {
            return MembershipEdit.Refused(StatusCodes.Status409Conflict,
                $"<Error> Cannot remove {count} instance(s): the ring has {active.Count} and at least one must stay");
        }

        if (provisioner is IChoosesRemovals engine)
        {
            engine.Choose(active, chosen, count);
        }
        else
        {
            MembershipManager.PickAtRandom(active, chosen, count, random);
        }

        // The engine's servers are stopped through it; any other (added by address) leaves this proxy's table only.
        var stop = chosen.Where(engineServers.Contains).ToList();
        var own = targetsFor(chosen.Where(name => !engineServers.Contains(name)));
        if (own.Count > 0)
        {
            var edit = membership.Remove(own, own.Count, random);
            if (!edit.Applied)
            {
                return edit;
            }
        }

        if (stop.Count > 0)
        {
            var result = await provisioner.StopAsync(stop, _options.DrainTime, cancellationToken).ConfigureAwait(false);
            if (!result.Succeeded)
            {
                return MembershipEdit.Refused(result.StatusCode, result.Error!);
            }

            if (!await WaitForTableAsync(servers => !stop.Any(servers.Contains), LeaveTimeout, cancellationToken).ConfigureAwait(false))
            {
                LogNotInTable(logger, string.Join(", ", stop));
            }
        }

        return Answer(chosen);

        static List<ServerReference> targetsFor(IEnumerable<string> names) => names.Select(name => new ServerReference(name, name, null)).ToList();
    }

    private MembershipEdit Answer(List<string> changed)
    {
        changed.Sort(StringComparer.Ordinal);
        return new MembershipEdit(true, StatusCodes.Status200OK, null, membership.CurrentServers, changed);
    }

    // Waits on the table's own change event (the engine's list arrives by long poll, so this is the last step, in
    // milliseconds) rather than polling it.
    private async Task<bool> WaitForTableAsync(Func<IReadOnlyList<string>, bool> shows, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var shown = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        void OnChanged(TableSnapshot current, TableSnapshot? previous)
        {
            if (shows(membership.CurrentServers))
            {
                shown.TrySetResult();
            }
        }

        table.Changed += OnChanged;
        try
        {
            if (shows(membership.CurrentServers))
            {
                return true;
            }

            if (timeout <= TimeSpan.Zero)
            {
                return false;
            }

            await shown.Task.WaitAsync(timeout, timeProvider, cancellationToken).ConfigureAwait(false);
            return true;
        }
        catch (TimeoutException)
        {
            return false;
        }
        finally
        {
            table.Changed -= OnChanged;
        }
    }

    [LoggerMessage(EventId = 810, Level = LogLevel.Warning, Message = "The engine changed server(s) {Servers} but this proxy's table does not show it in time")]
    private static partial void LogNotInTable(ILogger logger, string servers);
}
