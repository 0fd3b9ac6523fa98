using System.Diagnostics;
using LoadBalancer.Server;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace LoadBalancer.Tests.Forwarding;

/// <summary>
/// Hedging under load: one of three servers freezes while requests arrive at a steady rate. It runs alone (see
/// <see cref="LoadCollection"/>): a bound on the slowest request means nothing on a machine that other tests keep busy.
/// </summary>
[Collection(LoadCollection.Name)]
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class HedgingUnderLoadTests
{
    [Fact]
    public async Task One_frozen_server_under_load_costs_no_client_a_failure_or_more_than_a_bounded_wait()
    {
        // Three real servers; one stops answering anything (heartbeats included) until the test ends, as a SIGSTOPped
        // process would, while requests with distinct keys arrive at a steady rate. Without hedging, the requests that
        // reached it before the probes took it out would wait out the attempt timeout (20 s here) before a retry.
        using var freeze = new Freeze();
        await using var s1 = await TestHost.StartServerAsync("1");
        await using var s2 = await TestHost.StartAsync(
            builder => builder.AddServerOptions(),
            app =>
            {
                app.Use(async (context, next) =>
                {
                    await freeze.WaitAsync(context.RequestAborted);
                    await next(context);
                });
                app.MapServerEndpoints();
            },
            new Dictionary<string, string?> { ["SERVER_ID"] = "2" },
            TestHost.ServerAppSettings);
        await using var s3 = await TestHost.StartServerAsync("3");
        await using var proxy = await TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["server1"] = s1.Address, ["server2"] = s2.Address, ["server3"] = s3.Address },
            new Dictionary<string, string?> { ["Retry:AttemptTimeout"] = "00:00:20", ["Retry:TotalTimeout"] = "00:00:25" });
        // No client-wide timeout: each request has its own bound, and one that overruns it is reported, not thrown.
        using var client = new HttpClient { BaseAddress = proxy.Address, Timeout = Timeout.InfiniteTimeSpan };

        const int requests = 360;
        const int perSecond = 45;
        var results = new Task<Result>[requests];
        var clock = Stopwatch.StartNew();
        var lateness = TimeSpan.Zero;
        for (var i = 0; i < requests; i++)
        {
            if (i == perSecond)
            {
                freeze.Start();
            }

            var due = TimeSpan.FromSeconds((double)i / perSecond);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed);
            }

            // How late the loop sends: a machine that starves this process shows here, not as a mystery below.
            lateness = TimeSpan.FromTicks(Math.Max(lateness.Ticks, (clock.Elapsed - due).Ticks));
            results[i] = TimedGetAsync(client, $"/home?id=frozen-{i}");
        }

        var all = await Task.WhenAll(results);
        freeze.Dispose();
        var machine = $"the send loop ran up to {lateness.TotalSeconds:0.00} s late; thread pool {ThreadPool.ThreadCount} threads, {ThreadPool.PendingWorkItemCount} queued";

        Assert.All(all, r => Assert.True(r.Status == HttpStatusCode.OK, $"request {r.Index}: {r.Outcome} after {r.Latency.TotalSeconds:0.00} s ({machine})"));
        var slowest = all.MaxBy(r => r.Latency)!;
        // Hedging answers those requests from the next server about Hedging:Delay (1 s) after they were sent; the
        // bound leaves room for a busy machine and stays well under the attempt timeout they would wait otherwise.
        Assert.True(slowest.Latency < TimeSpan.FromSeconds(10), $"request {slowest.Index} took {slowest.Latency.TotalSeconds:0.00} s ({machine})");
        Assert.Contains(all, r => r.Outcome == "server2");
        // Hedges did answer requests server2 held: some came from another server a hedge delay or more after they left.
        Assert.Contains(all, r => r.Index >= perSecond && r.Outcome != "server2" && r.Latency >= TimeSpan.FromSeconds(0.9));
    }

    private sealed record Result(int Index, HttpStatusCode Status, TimeSpan Latency, string Outcome);

    private static async Task<Result> TimedGetAsync(HttpClient client, string path)
    {
        var index = int.Parse(path.AsSpan(path.LastIndexOf('-') + 1), System.Globalization.CultureInfo.InvariantCulture);
        var started = Stopwatch.GetTimestamp();
        // Beyond the proxy's own total deadline (25 s): a request still unanswered then was lost by the proxy.
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(40));
        try
        {
            using var response = await client.GetAsync(path, bound.Token);
            var body = await response.Content.ReadAsStringAsync(bound.Token);
            // The proxy's own answers (503 and the like) name no server: say what came instead.
            var upstream = response.Headers.TryGetValues(LoadBalancer.Proxy.Forwarding.ProxyRequestHandler.ServerNameHeader, out var names)
                ? names.Single()
                : $"none: {(int)response.StatusCode} {body}";
            return new Result(index, response.StatusCode, Stopwatch.GetElapsedTime(started), upstream);
        }
        catch (Exception ex) when (ex is HttpRequestException or OperationCanceledException)
        {
            return new Result(index, 0, Stopwatch.GetElapsedTime(started), $"{ex.GetType().Name}: {ex.Message}");
        }
    }

    /// <summary>Holds every request from <see cref="Start"/> until it is disposed, then lets them all through.</summary>
    private sealed class Freeze : IDisposable
    {
        private readonly TaskCompletionSource _thawed = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private volatile bool _frozen;

        public void Start() => _frozen = true;

        public Task WaitAsync(CancellationToken cancellationToken) => _frozen ? _thawed.Task.WaitAsync(cancellationToken) : Task.CompletedTask;

        public void Dispose() => _thawed.TrySetResult();
    }
}
