using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.Json;
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
        var owners = await OwnersAsync(client, keys);
        Assert.Contains(victim, owners.Values);

        await using var load = Load.Start(client, keys, minimumRequests: 10_000);
        await load.WaitForAsync(2_000);

        var stopwatch = Stopwatch.StartNew();
        var stop = await fixture.App.ResourceCommands.ExecuteCommandAsync(victim, KnownResourceCommands.StopCommand);
        Assert.True(stop.Success, stop.Message);
        var stopped = stopwatch.Elapsed;
        await WaitForProxyStateAsync(client, victim, "down");
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
        await WaitForProxyStateAsync(client, victim, "up");
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
        Assert.All(records.Where(r => owners[r.Key] != victim), r => Assert.Equal(owners[r.Key], r.BackendServer));
        Assert.Contains(records, r => owners[r.Key] == victim && r.BackendServer != victim);
        // Back: every key is where it was before.
        Assert.Equal(owners, await OwnersAsync(client, keys));
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

        await using var load = Load.Start(client, Keys.Random(500, seed: 4), minimumRequests: 3_000);
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

        await WaitForProxyStateAsync(client, victim, "up");
        await load.WaitForAsync(load.Count + 500);
        await load.StopAsync();
        Assert.Empty(load.Failures);
    }

    private bool IsStopped(string name) =>
        fixture.App.ResourceNotifications.TryGetCurrentState(name, out var current)
        && current.Snapshot.State?.Text is "Finished" or "Exited";

    private static async Task WaitForProxyStateAsync(HttpClient client, string server, string state)
    {
        using var cts = new CancellationTokenSource(Generous);
        while (true)
        {
            using var response = await client.GetAsync("/health", cts.Token);
            var report = await response.Content.ReadFromJsonAsync<JsonElement>(cts.Token);
            if (report.GetProperty("servers").GetProperty(server).GetProperty("state").GetString() == state)
            {
                return;
            }

            await Task.Delay(100, cts.Token);
        }
    }

    private static async Task<Dictionary<string, string>> OwnersAsync(HttpClient client, string[] keys)
    {
        var owners = new ConcurrentDictionary<string, string>();
        await Parallel.ForEachAsync(keys, new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (key, ct) =>
        {
            using var response = await client.GetAsync($"/home?id={key}", ct);
            response.EnsureSuccessStatusCode();
            owners[key] = ProxyProbe.ServerOf(response);
        });
        return new Dictionary<string, string>(owners);
    }

    /// <summary>A bounded client loop over random keys, recording who answered each request and every failure.</summary>
    private sealed class Load : IAsyncDisposable
    {
        private const int MaximumRequests = 400_000;
        private readonly ConcurrentQueue<(string Key, string BackendServer)> _records = new();
        private readonly CancellationTokenSource _stop = new(TimeSpan.FromMinutes(8));
        private Task _task = Task.CompletedTask;
        private int _minimum;

        public ConcurrentQueue<string> Failures { get; } = new();

        public int Count => _records.Count + Failures.Count;

        public static Load Start(HttpClient client, string[] keys, int minimumRequests)
        {
            var load = new Load { _minimum = minimumRequests };
            load._task = Task.WhenAll(Enumerable.Range(0, 8).Select(worker => load.RunAsync(client, keys, worker)));
            return load;
        }

        public async Task WaitForAsync(int count)
        {
            while (Count < count && !_task.IsCompleted)
            {
                await Task.Delay(50);
            }
        }

        public async Task<List<(string Key, string BackendServer)>> StopAsync()
        {
            await WaitForAsync(_minimum);
            await _stop.CancelAsync();
            await _task;
            return [.. _records];
        }

        public async ValueTask DisposeAsync()
        {
            await _stop.CancelAsync();
            await _task;
            _stop.Dispose();
        }

        private async Task RunAsync(HttpClient client, string[] keys, int worker)
        {
            var random = new Random(worker);
            while (!_stop.IsCancellationRequested && Count < MaximumRequests)
            {
                var key = keys[random.Next(keys.Length)];
                try
                {
                    using var response = await client.GetAsync($"/home?id={key}", _stop.Token);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        _records.Enqueue((key, ProxyProbe.ServerOf(response)));
                    }
                    else
                    {
                        Failures.Enqueue($"{key}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                    }
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception ex)
                {
                    Failures.Enqueue($"{key}: {ex.GetType().Name} {ex.Message}");
                }
            }
        }
    }
}
