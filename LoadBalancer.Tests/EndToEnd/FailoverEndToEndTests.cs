using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using LoadBalancer.Tests.Infrastructure;
using Xunit.Abstractions;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>Its own AppHost: these tests stop and kill servers.</summary>
public sealed class FailoverAppHostFixture : AppHostFixture;

/// <summary>
/// The seed's A-3 on the real AppHost: servers stopped or killed under load, no client request failing, and the
/// AppHost's supervisor respawning crashed servers but not stopped ones.
/// </summary>
[Collection(EndToEndCollection.Name)]
[Trait(TestCategories.Name, TestCategories.EndToEnd)]
public sealed class FailoverEndToEndTests(FailoverAppHostFixture fixture, ITestOutputHelper output) : IClassFixture<FailoverAppHostFixture>
{
    private static readonly TimeSpan Generous = TimeSpan.FromMinutes(2);

    [Fact]
    public async Task A3_stopping_a_server_under_load_fails_no_request_moves_only_its_keys_and_it_rejoins_after_start()
    {
        const string victim = "server2";
        using var client = fixture.CreateProxyClient();
        var keys = Keys.Random(1000, seed: 3);
        var owners = await KeyLoad.OwnersAsync(client, keys);
        Assert.Contains(victim, owners.Values);

        await using var load = KeyLoad.Start(client, keys, minimumRequests: 10_000);
        await load.WaitForAsync(2_000);

        var stopwatch = Stopwatch.StartNew();
        var stop = await fixture.App.ResourceCommands.ExecuteCommandAsync(victim, KnownResourceCommands.StopCommand);
        Assert.True(stop.Success, stop.Message);
        var stopped = stopwatch.Elapsed;
        await KeyLoad.WaitForProxyStateAsync(client, victim, "down", Generous);
        var detected = stopwatch.Elapsed;
        output.WriteLine(
            $"Stop command took {stopped.TotalMilliseconds:0} ms; the proxy marked {victim} down {detected.TotalMilliseconds:0} ms after it was issued " +
            $"({(detected - stopped).TotalMilliseconds:0} ms after it returned)");

        // Stopped on purpose: the supervisor must leave it stopped (well past its 5 s respawn window).
        await Task.Delay(TimeSpan.FromSeconds(8));
        Assert.True(IsStopped(victim), $"{victim} was started again although it was stopped on purpose");
        var servedDuringOutage = load.Count;

        var start = await fixture.App.ResourceCommands.ExecuteCommandAsync(victim, KnownResourceCommands.StartCommand);
        Assert.True(start.Success, start.Message);
        using (var cts = new CancellationTokenSource(Generous))
        {
            await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync(victim, cts.Token);
        }

        var healthy = Stopwatch.StartNew();
        await KeyLoad.WaitForProxyStateAsync(client, victim, "up", Generous);
        var rejoined = healthy.Elapsed;
        output.WriteLine($"{victim} healthy in Aspire to rejoined in the proxy: {rejoined.TotalMilliseconds:0} ms");
        Assert.True(rejoined < TimeSpan.FromSeconds(5), $"rejoin took {rejoined}");

        // Keep the load running a little past the rejoin, then stop it.
        await load.WaitForAsync(load.Count + 1_000);
        var records = await load.StopAsync();
        output.WriteLine($"{records.Count} requests, {servedDuringOutage} by the end of the outage; failures: {load.Failures.Count}");

        Assert.True(records.Count >= 10_000);
        Assert.Empty(load.Failures);
        // Keys of surviving servers never changed server; the victim's keys went elsewhere while it was away.
        Assert.All(records.Where(r => owners[r.Key] != victim), r => Assert.Equal(owners[r.Key], r.Server));
        Assert.Contains(records, r => owners[r.Key] == victim && r.Server != victim);
        // Back: every key is where it was before.
        Assert.Equal(owners, await KeyLoad.OwnersAsync(client, keys));
    }

    [Fact]
    public async Task A_killed_server_is_respawned_by_the_apphost_and_no_request_fails()
    {
        const string victim = "server3";
        using var client = fixture.CreateProxyClient();
        using var cts = new CancellationTokenSource(Generous);
        var running = await fixture.App.ResourceNotifications.WaitForResourceAsync(
            victim, e => e.Snapshot.State?.Text == KnownResourceStates.Running, cts.Token);
        var wrapperPid = Convert.ToInt32(running.Snapshot.Properties.Single(p => p.Name == "executable.pid").Value, System.Globalization.CultureInfo.InvariantCulture);

        await using var load = KeyLoad.Start(client, Keys.Random(500, seed: 4), minimumRequests: 3_000);
        await load.WaitForAsync(500);

        // The snapshot's pid is the `dotnet run` wrapper; the server is its child.
        var killed = ProcessTree.KillDescendants(wrapperPid);
        Assert.NotEmpty(killed);
        output.WriteLine($"Killed {string.Join(", ", killed)} under wrapper {wrapperPid}");

        var exited = await fixture.App.ResourceNotifications.WaitForResourceAsync(
            victim, e => e.Snapshot.State?.Text is "Finished" or "Exited", cts.Token);
        var sinceExit = Stopwatch.StartNew();
        output.WriteLine($"{victim} exited with code {exited.Snapshot.ExitCode}");
        await fixture.App.ResourceNotifications.WaitForResourceAsync(
            victim, e => e.Snapshot.State?.Text is "Starting" or "Running", cts.Token);
        var respawnStarted = sinceExit.Elapsed;
        await fixture.App.ResourceNotifications.WaitForResourceHealthyAsync(victim, cts.Token);
        output.WriteLine($"Respawn began {respawnStarted.TotalMilliseconds:0} ms after the exit; healthy after {sinceExit.ElapsedMilliseconds} ms");
        Assert.True(respawnStarted < TimeSpan.FromSeconds(5), $"respawn began after {respawnStarted}");

        await KeyLoad.WaitForProxyStateAsync(client, victim, "up", Generous);
        await load.WaitForAsync(load.Count + 500);
        await load.StopAsync();
        Assert.Empty(load.Failures);
    }

    private bool IsStopped(string name) =>
        fixture.App.ResourceNotifications.TryGetCurrentState(name, out var current)
        && current.Snapshot.State?.Text is "Finished" or "Exited";
}
