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
        // Three real servers; one stops answering anything (heartbeats included) for several seconds, as a SIGSTOPped
        // process would, while requests with distinct keys arrive at a steady rate. Without hedging, the requests
        // that reached it before the probes took it out would wait until it thawed (the whole freeze).
        var freeze = new Freeze();
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
            new Dictionary<string, Uri> { ["server1"] = s1.Address, ["server2"] = s2.Address, ["server3"] = s3.Address });
        using var client = proxy.CreateClient();
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(60));

        const int requests = 360;
        const int perSecond = 45;
        var frozenFor = TimeSpan.FromSeconds(6);
        var results = new Task<(HttpStatusCode Status, TimeSpan Latency, string BackendServer)>[requests];
        var clock = Stopwatch.StartNew();
        for (var i = 0; i < requests; i++)
        {
            if (i == perSecond)
            {
                freeze.Start(frozenFor);
            }

            var due = TimeSpan.FromSeconds((double)i / perSecond);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed, bound.Token);
            }

            results[i] = TimedGetAsync(client, $"/home?id=frozen-{i}", bound.Token);
        }

        var all = await Task.WhenAll(results);

        Assert.All(all, r => Assert.True(r.Status == HttpStatusCode.OK, $"{r.Status} after {r.Latency.TotalSeconds:0.00} s from {r.BackendServer}"));
        var slowest = all.Max(r => r.Latency);
        // Hedging answers those requests from the next server about Hedging:Delay (1 s) after they were sent; the
        // bound leaves room for a busy machine and stays well under the freeze.
        Assert.True(slowest < TimeSpan.FromSeconds(3), $"slowest request took {slowest.TotalSeconds:0.00} s");
        Assert.Contains(all, r => r.BackendServer == "server2");
    }

    private static async Task<(HttpStatusCode, TimeSpan, string)> TimedGetAsync(HttpClient client, string path, CancellationToken cancellationToken)
    {
        var started = Stopwatch.GetTimestamp();
        using var response = await client.GetAsync(path, cancellationToken);
        var body = await response.Content.ReadAsStringAsync(cancellationToken);
        // The proxy's own answers (503 and the like) name no server: say what came instead.
        var upstream = response.Headers.TryGetValues(LoadBalancer.Proxy.Forwarding.ProxyRequestHandler.ServerNameHeader, out var names)
            ? names.Single()
            : $"none: {(int)response.StatusCode} {body}";
        return (response.StatusCode, Stopwatch.GetElapsedTime(started), upstream);
    }

    /// <summary>Holds every request while it lasts, then lets them all through.</summary>
    private sealed class Freeze
    {
        private volatile TaskCompletionSource _thawed = CompletedSource();

        public void Start(TimeSpan duration)
        {
            var frozen = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            _thawed = frozen;
            _ = Task.Delay(duration).ContinueWith(_ => frozen.TrySetResult(), TaskScheduler.Default);
        }

        public Task WaitAsync(CancellationToken cancellationToken) => _thawed.Task.WaitAsync(cancellationToken);

        private static TaskCompletionSource CompletedSource()
        {
            var source = new TaskCompletionSource();
            source.SetResult();
            return source;
        }
    }

}
