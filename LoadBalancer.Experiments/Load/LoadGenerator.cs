using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;

namespace LoadBalancer.Experiments.Load;

/// <summary>Sends a bounded burst of concurrent requests to a proxy and records which server answered each.</summary>
public static class LoadGenerator
{
    /// <summary>The response header naming the member that answered (the proxy's <c>X-Upstream-Server</c>).</summary>
    public const string ServerNameHeader = "X-Upstream-Server";

    /// <summary>Per-request timeout: a hung request counts as failed rather than stalling the run.</summary>
    public static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    /// <summary>A client for <paramref name="proxy"/> with one pooled connection per concurrent request.</summary>
    public static HttpClient CreateClient(Uri proxy, int concurrency) =>
        new(new SocketsHttpHandler { MaxConnectionsPerServer = concurrency, UseProxy = false, UseCookies = false, AllowAutoRedirect = false })
        {
            BaseAddress = proxy,
            Timeout = RequestTimeout,
        };

    /// <summary>Runs the burst described by <paramref name="options"/> against <paramref name="client"/>.</summary>
    /// <param name="client">A client whose base address is the proxy.</param>
    /// <param name="options">How many requests, how concurrently, how fast, how long at most.</param>
    /// <param name="onCompleted">Called after each request (progress bars); may be null.</param>
    /// <param name="cancellationToken">Stops the run.</param>
    /// <param name="clock">The run's clock, when the caller times its own events on it; started here if not running.</param>
    public static async Task<LoadResult> RunAsync(
        HttpClient client, LoadOptions options, Action<RequestOutcome>? onCompleted, CancellationToken cancellationToken, Stopwatch? clock = null)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Requests, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Concurrency, 1);
        var ids = RequestIds.Create(options.Requests, options.Seed);
        var outcomes = new ConcurrentQueue<RequestOutcome>();
        clock ??= new Stopwatch();
        clock.Start();
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        deadline.CancelAfter(options.TimeLimit);
        var next = -1;

        async Task WorkerAsync()
        {
            while (!deadline.IsCancellationRequested)
            {
                var index = Interlocked.Increment(ref next);
                if (index >= ids.Length)
                {
                    return;
                }

                if (options.RatePerSecond is { } rate)
                {
                    // Request k is due at k / rate seconds: a steady pace whatever the latency.
                    var due = TimeSpan.FromSeconds(index / rate) - clock.Elapsed;
                    if (due > TimeSpan.Zero && !await DelayAsync(due, deadline.Token).ConfigureAwait(false))
                    {
                        return;
                    }
                }

                var outcome = await SendAsync(client, options.Path, ids[index], clock, deadline.Token).ConfigureAwait(false);
                if (outcome is null)
                {
                    return;
                }

                outcomes.Enqueue(outcome);
                onCompleted?.Invoke(outcome);
            }
        }

        var workers = Enumerable.Range(0, Math.Min(options.Concurrency, ids.Length)).Select(_ => Task.Run(WorkerAsync, CancellationToken.None));
        await Task.WhenAll(workers).ConfigureAwait(false);
        cancellationToken.ThrowIfCancellationRequested();
        return new LoadResult(outcomes.OrderBy(o => o.Seconds).ToArray(), clock.Elapsed, ids.Length);
    }

    private static async Task<bool> DelayAsync(TimeSpan delay, CancellationToken token)
    {
        try
        {
            await Task.Delay(delay, token).ConfigureAwait(false);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <summary>Sends one request; null when the run's deadline cancelled it (it is then not counted at all).</summary>
    private static async Task<RequestOutcome?> SendAsync(HttpClient client, string path, string id, Stopwatch clock, CancellationToken deadline)
    {
        try
        {
            using var response = await client.GetAsync($"{path}?id={id}", HttpCompletionOption.ResponseContentRead, deadline).ConfigureAwait(false);
            var server = response.StatusCode == HttpStatusCode.OK && response.Headers.TryGetValues(ServerNameHeader, out var values)
                ? values.FirstOrDefault()
                : null;
            return new RequestOutcome(id, clock.Elapsed.TotalSeconds, server, (int)response.StatusCode, server is null ? "no upstream named" : null);
        }
        catch (OperationCanceledException) when (deadline.IsCancellationRequested)
        {
            return null;
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException or IOException)
        {
            // A per-request timeout or a refused/reset connection: a failure the client saw.
            return new RequestOutcome(id, clock.Elapsed.TotalSeconds, null, 0, ex.GetType().Name);
        }
    }
}
