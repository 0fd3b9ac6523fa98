using System.Globalization;
using System.Net;
using Docker.DotNet;
using Docker.DotNet.Models;
using LoadBalancer.Proxy.Provisioning;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Docker;

/// <summary>
/// Docker as the engine behind <c>/add</c> and <c>/rm</c> (<c>Provisioning:Engine=Docker</c>): creates server
/// containers like the stack's others, and stops and removes them; the list is <see cref="DockerServerWatch"/>'s.
/// </summary>
/// <remarks>
/// A new server is a copy of a running server of the stack (<see cref="ServerContainers.Spec"/>), so its image,
/// environment, health check and restart policy are written once, in the compose file. A start answers when every new
/// container is a healthy member; one that is not within the timeout is stopped and removed with every other this
/// call created, so the call changes nothing. Two proxy replicas adding the same name at once cannot both succeed:
/// container names are unique per stack, and Docker refuses the second (409).
/// </remarks>
internal sealed partial class DockerProvisioner(
    IDockerClient client,
    DockerServerWatch watch,
    IOptions<DockerOptions> options,
    TimeProvider time,
    ILogger<DockerProvisioner> logger) : IServerProvisioner
{
    // Shorter than the proxy's list timeout: a wait that ends without a change answers the same list.
    private static readonly TimeSpan LongPoll = TimeSpan.FromSeconds(20);

    private readonly DockerOptions _options = options.Value;

    // One change at a time from this proxy, so its own calls do not invent the same name twice.
    private readonly SemaphoreSlim _changing = new(1, 1);

    /// <summary>The healthy servers, once the list differs from version <paramref name="after"/>.</summary>
    public async Task<ProvisionedList> ListAsync(long? after, CancellationToken cancellationToken)
    {
        var view = await watch.WaitAsync(after, LongPoll, cancellationToken).ConfigureAwait(false);
        var servers = view.Members.Values.Select(member => new ProvisionedServer(member.Name, member.Http, member.H2c)).ToList();
        return new ProvisionedList(view.Version, Math.Max(0, _options.MaxServers - servers.Count), servers);
    }

    /// <summary>Creates and starts <paramref name="count"/> server containers, and waits for them to be healthy members.</summary>
    public async Task<ProvisioningResult> StartAsync(IReadOnlyList<string> names, int count, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var started = time.GetTimestamp();
        if (names.FirstOrDefault(name => !ServerContainers.IsValidName(name)) is { } invalid)
        {
            return Refused(StatusCodes.Status400BadRequest,
                $"<Error> '{invalid}' cannot name a server container: its hostname must be letters, digits and '-' (at most 63, not starting or ending with '-')");
        }

        await _changing.WaitAsync(cancellationToken).ConfigureAwait(false);
        var created = new List<(string Name, string Id)>(count);
        try
        {
            if (watch.Stack is not { } stack)
            {
                return NotReached();
            }

            var all = await ServersAsync(stack, cancellationToken).ConfigureAwait(false);
            if (all is null)
            {
                return Unreachable("list the server containers");
            }

            var inUse = all.Select(c => ServerContainers.RingNameOf(c.Labels, stack.Group)!).ToHashSet(StringComparer.Ordinal);
            if (names.FirstOrDefault(inUse.Contains) is { } taken)
            {
                return Refused(StatusCodes.Status409Conflict, $"<Error> Server '{taken}' already exists (a container of stack '{stack.Group}' has that name)");
            }

            if (all.Count + count > _options.MaxServers)
            {
                return Refused(StatusCodes.Status400BadRequest,
                    $"<Error> Only {Math.Max(0, _options.MaxServers - all.Count)} more server(s) can be added: the stack has {all.Count} server container(s) and Docker:MaxServers is {_options.MaxServers}");
            }

            ContainerInspectResponse? template;
            try
            {
                template = await TemplateAsync(all, cancellationToken).ConfigureAwait(false);
            }
            catch (Exception ex) when (IsEngineFailure(ex, cancellationToken))
            {
                LogUnreachable(logger, ex);
                return Unreachable("inspect a server container to copy");
            }

            if (template is null)
            {
                return Refused(StatusCodes.Status503ServiceUnavailable,
                    $"<Error> No running server container of stack '{stack.Group}' to copy a new server's settings from");
            }

            var toStart = ServerContainers.Names(inUse, names, count);
            foreach (var name in toStart)
            {
                var spec = ServerContainers.Spec(template, name, stack.Group, stack.Network, _options.Image);
                try
                {
                    var response = await client.Containers.CreateContainerAsync(spec, cancellationToken).ConfigureAwait(false);
                    created.Add((name, response.ID));
                    await client.Containers.StartContainerAsync(response.ID, new ContainerStartParameters(), cancellationToken).ConfigureAwait(false);
                }
                catch (Exception ex) when (IsEngineFailure(ex, cancellationToken))
                {
                    await RemoveAllAsync(created).ConfigureAwait(false);
                    var conflict = ex is DockerApiException { StatusCode: HttpStatusCode.Conflict };
                    return Refused(conflict ? StatusCodes.Status409Conflict : StatusCodes.Status502BadGateway,
                        $"<Error> Docker could not {(conflict ? "create" : "create and start")} server container '{spec.Name}': {Reason(ex)}; every container this call created was removed again");
                }
            }

            LogCreated(logger, string.Join(", ", toStart), stack.Group);
            while (watch.View is not { } view || !toStart.All(view.Members.ContainsKey))
            {
                var left = timeout - time.GetElapsedTime(started);
                if (left <= TimeSpan.Zero)
                {
                    await RemoveAllAsync(created).ConfigureAwait(false);
                    LogNotReady(logger, string.Join(", ", toStart), timeout);
                    return Refused(StatusCodes.Status504GatewayTimeout,
                        $"<Error> Server(s) {string.Join(", ", toStart)} did not become healthy within {Seconds(timeout)}; every container this call started was stopped and removed again");
                }

                // Woken by the watch's next list (the events deliver the new containers in milliseconds), not polled.
                await watch.WaitAsync(watch.View?.Version, left, cancellationToken).ConfigureAwait(false);
            }

            created.Clear();
            return new ProvisioningResult(StatusCodes.Status200OK, null, toStart);
        }
        catch (OperationCanceledException) when (created.Count > 0)
        {
            // The caller went away mid-start: what this call created goes again, as on a timeout.
            await RemoveAllAsync(created).ConfigureAwait(false);
            throw;
        }
        finally
        {
            _changing.Release();
        }
    }

    /// <summary>
    /// Takes <paramref name="names"/> off every replica's list (a rename: see <see cref="ServerContainers"/>), waits
    /// <paramref name="drain"/> for requests in flight, then stops and removes their containers.
    /// </summary>
    public async Task<ProvisioningResult> StopAsync(IReadOnlyList<string> names, TimeSpan drain, CancellationToken cancellationToken)
    {
        await _changing.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (watch.Stack is not { } stack)
            {
                return NotReached();
            }

            var all = await ServersAsync(stack, cancellationToken).ConfigureAwait(false);
            if (all is null)
            {
                return Unreachable("list the server containers");
            }

            var containers = new List<(string Name, ContainerListResponse Container)>(names.Count);
            foreach (var name in names)
            {
                var found = all.Where(c => ServerContainers.RingNameOf(c.Labels, stack.Group) == name && !ServerContainers.IsDraining(c.Names)).ToList();
                if (found.Count == 0)
                {
                    return Refused(StatusCodes.Status404NotFound, $"<Error> Unknown server '{name}': stack '{stack.Group}' has no running container of that name");
                }

                containers.AddRange(found.Select(c => (name, c)));
            }

            var staying = watch.View?.Members.Keys.Count(member => !names.Contains(member)) ?? 0;
            if (staying < 1)
            {
                return Refused(StatusCodes.Status409Conflict,
                    $"<Error> Cannot remove {names.Count} server(s): no healthy server would be left, and at least one must stay");
            }

            var renamed = new List<(string Id, string Name)>(containers.Count);
            try
            {
                foreach (var (_, container) in containers)
                {
                    var name = container.Names?.FirstOrDefault()?.TrimStart('/') ?? container.ID;
                    await client.Containers.RenameContainerAsync(container.ID, new ContainerRenameParameters { NewName = name + ServerContainers.DrainingSuffix }, cancellationToken).ConfigureAwait(false);
                    renamed.Add((container.ID, name));
                }
            }
            catch (Exception ex) when (IsEngineFailure(ex, cancellationToken))
            {
                foreach (var (id, name) in renamed)
                {
                    await TryAsync(() => client.Containers.RenameContainerAsync(id, new ContainerRenameParameters { NewName = name }, CancellationToken.None)).ConfigureAwait(false);
                }

                return Refused(StatusCodes.Status502BadGateway, $"<Error> Docker could not take server(s) {string.Join(", ", names)} out of the list: {Reason(ex)}; nothing was changed");
            }

            // Past this point the servers are leaving: the rest runs to its end even if the caller goes away.
            await watch.ResyncAsync(CancellationToken.None).ConfigureAwait(false);
            await Task.Delay(drain, time, CancellationToken.None).ConfigureAwait(false);
            await RemoveAllAsync(renamed.Select(r => (r.Name, r.Id)).ToList()).ConfigureAwait(false);
            LogRemoved(logger, string.Join(", ", names), stack.Group);
            return new ProvisioningResult(StatusCodes.Status200OK, null, names);
        }
        finally
        {
            _changing.Release();
        }
    }

    /// <summary>Every server container of the stack, running or not; null when the engine could not be asked.</summary>
    private async Task<List<ContainerListResponse>?> ServersAsync(DockerStack stack, CancellationToken cancellationToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(_options.RequestTimeout);
            var listed = await client.Containers.ListContainersAsync(new ContainersListParameters
            {
                All = true,
                Filters = DockerServerWatch.Filters((ServerContainers.ServerLabel, "label")),
            }, timeout.Token).ConfigureAwait(false);
            return listed.Where(c => ServerContainers.RingNameOf(c.Labels, stack.Group) is not null).ToList();
        }
        catch (Exception ex) when (IsEngineFailure(ex, cancellationToken))
        {
            LogUnreachable(logger, ex);
            return null;
        }
    }

    // A member first (known healthy), else any running server of the stack.
    private async Task<ContainerInspectResponse?> TemplateAsync(List<ContainerListResponse> all, CancellationToken cancellationToken)
    {
        var members = watch.View?.Members.Values.Select(m => m.ContainerId).ToHashSet(StringComparer.Ordinal) ?? [];
        var candidate = all.Where(c => c.State == "running").OrderBy(c => members.Contains(c.ID) ? 0 : 1).ThenBy(c => c.ID, StringComparer.Ordinal).FirstOrDefault();
        return candidate is null ? null : await client.Containers.InspectContainerAsync(candidate.ID, cancellationToken).ConfigureAwait(false);
    }

    // Stops and removes (force: a container that will not stop goes anyway); a failure is logged, the rest go on.
    private async Task RemoveAllAsync(List<(string Name, string Id)> containers)
    {
        var wait = (uint)Math.Ceiling(_options.StopTimeout.TotalSeconds);
        foreach (var (name, id) in containers)
        {
            await TryAsync(() => client.Containers.StopContainerAsync(id, new ContainerStopParameters { WaitBeforeKillSeconds = wait }, CancellationToken.None)).ConfigureAwait(false);
            if (!await TryAsync(() => client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true, RemoveVolumes = true }, CancellationToken.None)).ConfigureAwait(false))
            {
                LogNotRemoved(logger, name, id);
            }
        }
    }

    private async Task<bool> TryAsync(Func<Task> call)
    {
        try
        {
            await call().ConfigureAwait(false);
            return true;
        }
        catch (DockerContainerNotFoundException)
        {
            return true;
        }
        catch (Exception ex) when (IsEngineFailure(ex, CancellationToken.None))
        {
            LogUnreachable(logger, ex);
            return false;
        }
    }

    // What the engine or the way to it can throw; a cancellation that is not the caller's is the client's own timeout.
    private static bool IsEngineFailure(Exception ex, CancellationToken cancellationToken) =>
        ex is DockerApiException or HttpRequestException or IOException or TimeoutException or System.Net.Sockets.SocketException ||
        (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested);

    private static ProvisioningResult NotReached() =>
        Refused(StatusCodes.Status503ServiceUnavailable, "<Error> The Docker engine has not been reached yet; try again in a moment");

    private static ProvisioningResult Unreachable(string what) =>
        Refused(StatusCodes.Status502BadGateway, $"<Error> The proxy could not {what} through the Docker engine's API; nothing was changed");

    private static string Reason(Exception ex) => ex is DockerApiException api ? $"{(int)api.StatusCode} {api.ResponseBody?.Trim()}" : ex.Message;

    private static ProvisioningResult Refused(int status, string message) => new(status, message, []);

    private static string Seconds(TimeSpan span) => $"{span.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s";

    [LoggerMessage(EventId = 830, Level = LogLevel.Information, Message = "Docker: created and started server container(s) {Servers} in stack {Group}")]
    private static partial void LogCreated(ILogger logger, string servers, string group);

    [LoggerMessage(EventId = 831, Level = LogLevel.Warning, Message = "Docker: server container(s) {Servers} not healthy within {Timeout}; stopped and removed again")]
    private static partial void LogNotReady(ILogger logger, string servers, TimeSpan timeout);

    [LoggerMessage(EventId = 832, Level = LogLevel.Information, Message = "Docker: drained, stopped and removed server container(s) {Servers} of stack {Group}")]
    private static partial void LogRemoved(ILogger logger, string servers, string group);

    [LoggerMessage(EventId = 833, Level = LogLevel.Warning, Message = "Docker: a call to the engine failed")]
    private static partial void LogUnreachable(ILogger logger, Exception exception);

    [LoggerMessage(EventId = 834, Level = LogLevel.Error, Message = "Docker: server container {Server} ({Id}) could not be removed; remove it by hand")]
    private static partial void LogNotRemoved(ILogger logger, string server, string id);
}
