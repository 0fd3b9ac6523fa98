using System.Collections.Concurrent;
using System.Text.Json;

namespace LoadBalancer.Tests.Infrastructure;

/// <summary>
/// A client loop through the proxy over random keys, recording who answered each request and every failure. Bounded
/// in count (<see cref="MaximumRequests"/>) and in time (<see cref="MaximumDuration"/>) whatever the test does.
/// </summary>
public sealed class KeyLoad : IAsyncDisposable
{
    public const int MaximumRequests = 400_000;
    public static readonly TimeSpan MaximumDuration = TimeSpan.FromMinutes(8);

    private readonly ConcurrentQueue<(string Key, string Server)> _records = new();
    private readonly CancellationTokenSource _stop = new(MaximumDuration);
    private Task _task = Task.CompletedTask;
    private int _minimum;

    public ConcurrentQueue<string> Failures { get; } = new();

    public int Count => _records.Count + Failures.Count;

    /// <summary>Starts 8 workers; <see cref="StopAsync"/> waits for at least <paramref name="minimumRequests"/>.</summary>
    public static KeyLoad Start(HttpClient client, string[] keys, int minimumRequests)
    {
        var load = new KeyLoad { _minimum = minimumRequests };
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

    public async Task<List<(string Key, string Server)>> StopAsync()
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

    /// <summary>The server that answers each of <paramref name="keys"/> now.</summary>
    public static async Task<Dictionary<string, string>> OwnersAsync(HttpClient client, string[] keys)
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

    /// <summary>
    /// Waits (at most <paramref name="timeout"/>) until every one of <paramref name="keys"/> is answered by its server in
    /// <paramref name="expected"/>, and answers the last owners seen, for the caller to assert on.
    /// </summary>
    public static async Task<Dictionary<string, string>> WaitForOwnersAsync(HttpClient client, string[] keys, Dictionary<string, string> expected, TimeSpan timeout)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var owners = await OwnersAsync(client, keys);
            if (DateTime.UtcNow >= deadline || keys.All(k => owners[k] == expected[k]))
            {
                return owners;
            }

            await Task.Delay(250);
        }
    }

    /// <summary>Waits (at most <paramref name="timeout"/>) until the proxy's <c>/health</c> reports <paramref name="server"/> in <paramref name="state"/>.</summary>
    public static async Task WaitForProxyStateAsync(HttpClient client, string server, string state, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            using var response = await client.GetAsync("/health", cts.Token);
            var report = await response.Content.ReadFromJsonAsync<JsonElement>(cts.Token);
            // Under the AppHost's pool a server that no longer runs leaves the table altogether: down, too.
            if (report.TryGetProperty("servers", out var servers) &&
                (servers.TryGetProperty(server, out var entry) ? entry.GetProperty("state").GetString() == state : state == "down"))
            {
                return;
            }

            await Task.Delay(100, cts.Token);
        }
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
