using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Threading.Channels;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Server;
using LoadBalancer.Tests.Infrastructure;
using LoadBalancer.Tests.Telemetry;
using static LoadBalancer.Tests.Infrastructure.ProxySettings;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancer.Tests.Forwarding;

/// <summary>
/// Hedging: a server that sends no response headers within <c>Hedging:Delay</c> does not hold its clients for the whole
/// attempt timeout; an idempotent request without a body goes to the key's next server too, and the first answer wins.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class HedgingTests
{
    private static readonly TimeSpan Delay = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task A_slow_get_is_hedged_to_the_next_server_after_the_delay_and_the_first_answer_wins()
    {
        await using var slow = await SlowBackend.StartAsync();
        await using var fast = await TestHost.StartServerAsync("fast");
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var proxy = await TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["slow"] = slow.Host.Address, ["fast"] = fast.Address },
            WithoutProbes(("Hedging:Delay", "00:00:01")),
            services => services.AddSingleton<TimeProvider>(time));
        using var recorder = new TelemetryTestKit.Recorder(proxy.App.Services.GetRequiredService<IMeterFactory>());
        using var client = proxy.CreateClient();
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var key = ProxyProbe.KeyOwnedBy(proxy, "slow");

        var pending = client.GetAsync($"/home?id={key}", patience.Token);
        await slow.Arrivals.Reader.ReadAsync(patience.Token);
        // Just short of the delay nothing else is sent.
        time.Advance(Delay - TimeSpan.FromMilliseconds(10));
        await Task.Delay(200, patience.Token);
        Assert.False(pending.IsCompleted);

        time.Advance(TimeSpan.FromMilliseconds(10));
        using var response = await pending;

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("fast", ProxyProbe.ServerOf(response));
        Assert.Equal("Hello from Server: fast", (await response.Content.ReadFromJsonAsync<JsonElement>()).GetProperty("message").GetString());
        // The slow server's send is cancelled, and the in-flight counts are back to zero.
        await slow.Cancelled.Reader.ReadAsync(patience.Token);
        Assert.Equal(0, ProxyProbe.Server(proxy, "slow").InFlight);
        Assert.Equal(0, ProxyProbe.Server(proxy, "fast").InFlight);
        var hedge = Assert.Single(recorder.Of("loadbalancer.hedges"));
        Assert.Equal(("slow", "won"), ((string?)hedge.Tags["loadbalancer.server.name"], (string?)hedge.Tags["loadbalancer.hedge.outcome"]));
        var budget = proxy.App.Services.GetRequiredService<RetryBudget>();
        Assert.Equal((0, 0), (budget.Active, budget.Retrying));
    }

    [Fact]
    public async Task With_a_delay_percentile_a_server_s_requests_are_hedged_after_its_own_answer_times_not_the_whole_delay()
    {
        var hung = false;
        await using var flaky = await TestHost.StartBackendAsync(async context =>
        {
            if (Volatile.Read(ref hung))
            {
                await Task.Delay(Timeout.Infinite, context.RequestAborted);
            }

            await context.Response.WriteAsync("flaky");
        });
        await using var fast = await TestHost.StartServerAsync("fast");
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var proxy = await TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["flaky"] = flaky.Address, ["fast"] = fast.Address },
            WithoutProbes(("Hedging:Delay", "00:00:01"), ("Hedging:DelayPercentile", "99"), ("Hedging:MinDelay", "00:00:00.050")),
            services => services.AddSingleton<TimeProvider>(time));
        using var client = proxy.CreateClient();
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var key = ProxyProbe.KeyOwnedBy(proxy, "flaky");
        var server = ProxyProbe.Server(proxy, "flaky");

        // Answers that take no time on the proxy's clock: its p99 is under the floor, so its delay is the floor.
        for (var i = 0; i < 40; i++)
        {
            using var answer = await client.GetAsync($"/home?id={key}", patience.Token);
            Assert.Equal("flaky", ProxyProbe.ServerOf(answer));
        }

        while (server.AnswerTimes.HedgeDelay == TimeSpan.Zero)
        {
            time.Advance(TimeSpan.FromMilliseconds(100));
            await Task.Delay(20, patience.Token);
        }

        Assert.Equal(TimeSpan.FromMilliseconds(50), server.AnswerTimes.HedgeDelay);

        // Hung now: its requests go to the next server 50 ms in, not 1 s.
        Volatile.Write(ref hung, true);
        for (var i = 0; i < 2; i++)
        {
            var pending = client.GetAsync($"/home?id={key}", patience.Token);
            await Task.Delay(300, patience.Token);
            time.Advance(TimeSpan.FromMilliseconds(50));
            using var response = await pending.WaitAsync(TimeSpan.FromSeconds(10), patience.Token);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("fast", ProxyProbe.ServerOf(response));
        }

        // Outpaced twice in a row, but each time 50 ms in, not after the whole delay: that takes no server out.
        await Task.Delay(100, patience.Token);
        Assert.True(server.IsAvailable);
    }

    [Fact]
    public async Task A_server_outpaced_by_its_hedges_is_taken_out_by_its_breaker_and_the_trace_shows_both_sends()
    {
        await using var slow = await SlowBackend.StartAsync();
        await using var fast = await TestHost.StartServerAsync("fast");
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var exported = new List<Activity>();
        var logs = new LogCollector();
        await using var proxy = await TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["slow"] = slow.Host.Address, ["fast"] = fast.Address },
            // The ratio's own path: two outpaced of two attempts open Polly's breaker (not the count in a row).
            WithoutProbes(("Hedging:Delay", "00:00:01"), ("CircuitBreaker:MinimumThroughput", "2"), ("CircuitBreaker:OutpacedToOpen", "0")),
            services =>
            {
                services.AddSingleton<TimeProvider>(time);
                services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logs);
                TelemetryTestKit.TraceInto(exported)(services);
            });
        using var client = proxy.CreateClient();
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        using var root = TelemetryTestKit.StartRoot();

        for (var i = 0; i < 2; i++)
        {
            Assert.True(ProxyProbe.Server(proxy, "slow").IsAvailable);
            var pending = client.GetAsync($"/home?id={ProxyProbe.KeyOwnedBy(proxy, "slow", skip: i)}", patience.Token);
            await slow.Arrivals.Reader.ReadAsync(patience.Token);
            time.Advance(Delay);
            using var response = await pending;
            Assert.Equal("fast", ProxyProbe.ServerOf(response));
        }

        // Two outpaced sends of two: the breaker opens and the server is out of routing (the breaker hears of the
        // attempt once YARP is done with it, just after the client has its answer).
        while (ProxyProbe.Server(proxy, "slow").IsAvailable && !patience.IsCancellationRequested)
        {
            await Task.Delay(10, patience.Token);
        }

        Assert.Contains("Circuit breaker of slow is now open", logs.Messages);

        // The proxy's request spans carry the key hash (the servers' own request spans sit in the same trace).
        Activity[] spans = [];
        Activity[] requests = [];
        while (!patience.IsCancellationRequested && requests.Length < 2)
        {
            await Task.Delay(20, patience.Token);
            spans = TelemetryTestKit.SpansOf(exported, root.TraceId);
            requests = spans.Where(s => s.Kind == ActivityKind.Server && s.GetTagItem("loadbalancer.key.hash") is not null).ToArray();
        }

        var request = requests[0];
        Assert.Equal("fast", request.GetTagItem("loadbalancer.hedge.server"));
        Assert.Equal("won", request.GetTagItem("loadbalancer.hedge.outcome"));
        Assert.Equal("fast", request.GetTagItem("loadbalancer.server.name"));
        var sends = spans.Where(s => s.Kind == ActivityKind.Client && s.ParentSpanId == request.SpanId).ToArray();
        Assert.Equal(2, sends.Length);
    }

    [Fact]
    public async Task A_server_outpaced_twice_in_a_row_leaves_at_once_and_its_waiting_requests_are_hedged_before_their_delay()
    {
        await using var slow = await SlowBackend.StartAsync();
        await using var fast = await TestHost.StartServerAsync("fast");
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var logs = new LogCollector();
        await using var proxy = await TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["slow"] = slow.Host.Address, ["fast"] = fast.Address },
            WithoutProbes(
                ("Hedging:Delay", "00:00:01"),
                // The ratio alone would not open the breaker here; two retry slots in all, fewer than the hedges below.
                ("CircuitBreaker:MinimumThroughput", "100"),
                ("Retry:BudgetPercent", "1"),
                ("Retry:MinRetryConcurrency", "2")),
            services =>
            {
                services.AddSingleton<TimeProvider>(time);
                services.AddSingleton<Microsoft.Extensions.Logging.ILoggerProvider>(logs);
            });
        using var client = proxy.CreateClient();
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var server = ProxyProbe.Server(proxy, "slow");

        async Task<Task<HttpResponseMessage>[]> SendAsync(int from, int count)
        {
            var sent = Enumerable.Range(from, count)
                .Select(i => client.GetAsync($"/home?id={ProxyProbe.KeyOwnedBy(proxy, "slow", skip: i)}", patience.Token))
                .ToArray();
            for (var i = 0; i < count; i++)
            {
                await slow.Arrivals.Reader.ReadAsync(patience.Token);
            }

            return sent;
        }

        // Two requests, then half a delay later three more, all waiting on the hung server.
        var early = await SendAsync(0, 2);
        time.Advance(Delay / 2);
        var late = await SendAsync(2, 3);

        // The early two are hedged and outpace it: it leaves routing, and the late three are hedged at once, outside
        // the retry budget (it has two slots), half a delay before their own would pass.
        time.Advance(Delay / 2);
        foreach (var response in await Task.WhenAll(early.Concat(late)).WaitAsync(TimeSpan.FromSeconds(10), patience.Token))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("fast", ProxyProbe.ServerOf(response));
            response.Dispose();
        }

        Assert.Equal(UnavailableReasons.Outpaced, server.UnavailableReasons);
        Assert.Contains("Server slow was outpaced by its hedges 2 times in a row, answering nothing: out of routing for 00:00:03", logs.Messages);
        for (var i = 0; i < 5; i++)
        {
            await slow.Cancelled.Reader.ReadAsync(patience.Token);
        }

        // After the break it is back (the next request to it is its trial), with its count started afresh.
        time.Advance(TimeSpan.FromSeconds(3));
        Assert.True(server.IsAvailable);
        Assert.Equal(1, server.Outpaced());
    }

    [Theory]
    [InlineData("POST", false, false)]
    [InlineData("PATCH", false, false)]
    [InlineData("PUT", true, false)]
    [InlineData("GET", false, true)]
    public async Task A_request_that_is_not_idempotent_has_a_body_or_upgrades_is_never_hedged(string method, bool withBody, bool upgrade)
    {
        await using var pair = await SlowPair.StartAsync(("Hedging:Delay", "00:00:01"));
        using var request = new HttpRequestMessage(new HttpMethod(method), $"/home?id={pair.Key}")
        {
            Content = withBody ? new StringContent("{}") : null,
        };
        if (upgrade)
        {
            // A WebSocket handshake: a second one would open a second socket.
            request.Headers.Connection.Add("Upgrade");
            request.Headers.Upgrade.Add(new System.Net.Http.Headers.ProductHeaderValue("websocket"));
        }

        using var gaveUp = CancellationTokenSource.CreateLinkedTokenSource(pair.Patience);
        var pending = await pair.SendPastTheDelayAsync(request, gaveUp.Token);

        Assert.Equal(1, ProxyProbe.Server(pair.Proxy, "slow").InFlight);
        await gaveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => pending);
    }

    [Fact]
    public async Task A_hedge_the_budget_refuses_is_refused_once_and_the_request_waits_for_its_own_send()
    {
        // One retry slot in all: the first slow request's hedge takes it (to a server that does not answer either).
        await using var pair = await SlowPair.StartAsync(("Hedging:Delay", "00:00:01"), ("Retry:BudgetPercent", "1"), ("Retry:MinRetryConcurrency", "1"));
        using var recorder = new TelemetryTestKit.Recorder(pair.Proxy.App.Services.GetRequiredService<IMeterFactory>());
        var first = pair.Client.GetAsync($"/home?id={pair.Key}", pair.Patience);
        await pair.Slow.Arrivals.Reader.ReadAsync(pair.Patience);
        pair.Time.Advance(Delay);
        await pair.Other.Arrivals.Reader.ReadAsync(pair.Patience);

        // The second one's delay passes with the budget spent: no hedge. Polly's hedging, asked for a hedge it does not
        // get, would ask again at once, a thread-pool thread spinning until the first send ended.
        var second = pair.Client.GetAsync($"/home?id={pair.Key}", pair.Patience);
        await pair.Slow.Arrivals.Reader.ReadAsync(pair.Patience);
        pair.Time.Advance(Delay * 3);
        await Task.Delay(300, pair.Patience);

        var refused = recorder.Of("loadbalancer.hedges").Where(h => (string?)h.Tags["loadbalancer.hedge.outcome"] == "refused").Sum(h => h.Value);
        Assert.Equal(1, refused);
        Assert.False(pair.Other.Arrivals.Reader.TryPeek(out _));
        Assert.False(first.IsCompleted);
        Assert.False(second.IsCompleted);
    }

    [Fact]
    public async Task With_hedging_off_a_slow_get_waits_for_its_server()
    {
        await using var pair = await SlowPair.StartAsync(("Hedging:Enabled", "false"));
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/home?id={pair.Key}");

        var pending = await pair.SendPastTheDelayAsync(request, pair.Patience);

        pair.Time.Advance(SlowPair.AttemptTimeout);
        // The attempt timeout is a retryable failure for a GET: the retry then reaches the other server.
        await pair.Other.Arrivals.Reader.ReadAsync(pair.Patience);
        pair.Time.Advance(SlowPair.AttemptTimeout);
        using var response = await pending;
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
    }

    [Theory]
    [InlineData("Hedging:MinDelay", "00:00:02", "MinDelay")]
    [InlineData("Hedging:DelayPercentile", "100", "DelayPercentile")]
    public async Task Invalid_per_server_delay_settings_stop_the_proxy_at_start(string key, string value, string expected)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestHost.StartProxyAsync([], WithoutProbes(("Hedging:Delay", "00:00:01"), (key, value))));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_invalid_hedging_delay_stops_the_proxy_at_start()
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestHost.StartProxyAsync([], WithoutProbes(("Hedging:Delay", "00:00:00"))));
        Assert.Contains("Delay", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Two servers that never answer, behind a proxy on a fake clock, and a key owned by <c>slow</c>.</summary>
    private sealed class SlowPair : IAsyncDisposable
    {
        public static readonly TimeSpan AttemptTimeout = TimeSpan.FromSeconds(5);

        private readonly CancellationTokenSource _patience = new(TimeSpan.FromSeconds(30));

        private SlowPair(SlowBackend slow, SlowBackend other, FakeTimeProvider time, TestHost proxy)
        {
            (Slow, Other, Time, Proxy) = (slow, other, time, proxy);
            Client = proxy.CreateClient();
            Key = ProxyProbe.KeyOwnedBy(proxy, "slow");
        }

        public SlowBackend Slow { get; }

        public SlowBackend Other { get; }

        public FakeTimeProvider Time { get; }

        public TestHost Proxy { get; }

        public HttpClient Client { get; }

        public string Key { get; }

        public CancellationToken Patience => _patience.Token;

        public static async Task<SlowPair> StartAsync(params (string Key, string Value)[] settings)
        {
            var slow = await SlowBackend.StartAsync();
            var other = await SlowBackend.StartAsync();
            var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
            var proxy = await TestHost.StartProxyAsync(
                new Dictionary<string, Uri> { ["slow"] = slow.Host.Address, ["other"] = other.Host.Address },
                WithoutProbes([("Retry:AttemptTimeout", "00:00:05"), .. settings]),
                services => services.AddSingleton<TimeProvider>(time));
            return new SlowPair(slow, other, time, proxy);
        }

        /// <summary>Sends <paramref name="request"/>, lets three hedging delays pass and asserts nothing else was sent.</summary>
        public async Task<Task<HttpResponseMessage>> SendPastTheDelayAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var pending = Client.SendAsync(request, cancellationToken);
            await Slow.Arrivals.Reader.ReadAsync(Patience);
            Time.Advance(Delay * 3);
            await Task.Delay(300, Patience);

            Assert.False(Other.Arrivals.Reader.TryPeek(out _));
            Assert.False(pending.IsCompleted);
            return pending;
        }

        public async ValueTask DisposeAsync()
        {
            Client.Dispose();
            await Proxy.DisposeAsync();
            await Slow.DisposeAsync();
            await Other.DisposeAsync();
            _patience.Dispose();
        }
    }

    /// <summary>A backend that never answers <c>/home</c> and reports each arrival and each cancelled request.</summary>
    private sealed class SlowBackend : IAsyncDisposable
    {
        private SlowBackend(TestHost host) => Host = host;

        public TestHost Host { get; private set; }

        public Channel<string> Arrivals { get; } = Channel.CreateUnbounded<string>();

        public Channel<string> Cancelled { get; } = Channel.CreateUnbounded<string>();

        public static async Task<SlowBackend> StartAsync()
        {
            SlowBackend? backend = null;
            var host = await TestHost.StartBackendAsync(async context =>
            {
                backend!.Arrivals.Writer.TryWrite(context.Request.Method);
                try
                {
                    await Task.Delay(Timeout.Infinite, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    backend.Cancelled.Writer.TryWrite(context.Request.Method);
                }
            });
            backend = new SlowBackend(host);
            return backend;
        }

        public ValueTask DisposeAsync() => Host.DisposeAsync();
    }
}
