using System.Net.Http;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancer.Tests.Forwarding;

/// <summary>
/// The race of a first send against the hedging delay, on the race object that a pooled request reuses: what an
/// earlier request's send does after its own race was decided must not decide the next one's.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Unit)]
public sealed class HedgeRaceTests
{
    private static readonly TimeSpan Delay = TimeSpan.FromSeconds(1);

    [Fact]
    public async Task An_earlier_send_that_completes_late_does_not_decide_the_next_race()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var connections = new PendingSends();
        var request = new ForwardingRequest(time, 0, connections);
        var race = request.Race;

        // The first request: its send outlives the delay, so the delay wins (it is hedged) and its race ends.
        _ = race.Start(request.Hedging, new HttpRequestMessage(HttpMethod.Get, "http://server1/a"), CancellationToken.None);
        var first = race.SendWithinAsync(Delay, CancellationToken.None);
        time.Advance(Delay);
        Assert.False(await first.AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        race.End();

        // The pooled race serves the next request, whose send is still waiting; then the first one's send completes.
        _ = race.Start(request.Hedging, new HttpRequestMessage(HttpMethod.Get, "http://server1/b"), CancellationToken.None);
        var second = race.SendWithinAsync(Delay, CancellationToken.None);
        connections.Complete(0);
        await Task.Delay(50);
        Assert.False(second.IsCompleted, "the first request's late send decided the second request's race");

        // The second race is decided by its own delay.
        time.Advance(Delay);
        Assert.False(await second.AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        race.End();
    }

    [Fact]
    public async Task A_send_that_answers_within_the_delay_wins()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var connections = new PendingSends();
        var request = new ForwardingRequest(time, 0, connections);
        var race = request.Race;

        _ = race.Start(request.Hedging, new HttpRequestMessage(HttpMethod.Get, "http://server1/a"), CancellationToken.None);
        var within = race.SendWithinAsync(Delay, CancellationToken.None);
        connections.Complete(0);
        Assert.True(await within.AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        race.End();
    }

    [Fact]
    public async Task A_send_whose_server_leaves_routing_loses_at_once_without_waiting_for_the_delay()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var request = new ForwardingRequest(time, 0, new PendingSends());
        var race = request.Race;
        var server = new BackendServer("server1", new Uri("http://server1"));

        _ = race.Start(request.Hedging, new HttpRequestMessage(HttpMethod.Get, "http://server1/a"), CancellationToken.None);
        var waiting = race.SendWithinAsync(Delay, server.LeftRouting);
        await Task.Delay(50);
        Assert.False(waiting.IsCompleted);

        server.SetUnavailable(UnavailableReasons.HealthProbe, unavailable: true);
        Assert.False(await waiting.AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        race.End();

        // Out already when the race starts: it loses at once too.
        _ = race.Start(request.Hedging, new HttpRequestMessage(HttpMethod.Get, "http://server1/b"), CancellationToken.None);
        Assert.False(await race.SendWithinAsync(Delay, server.LeftRouting).AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        race.End();
    }

    [Fact]
    public async Task An_earlier_race_s_server_leaving_routing_does_not_decide_the_next_race()
    {
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var connections = new PendingSends();
        var request = new ForwardingRequest(time, 0, connections);
        var race = request.Race;
        var first = new BackendServer("server1", new Uri("http://server1"));
        var second = new BackendServer("server2", new Uri("http://server2"));

        _ = race.Start(request.Hedging, new HttpRequestMessage(HttpMethod.Get, "http://server1/a"), CancellationToken.None);
        var won = race.SendWithinAsync(Delay, first.LeftRouting);
        connections.Complete(0);
        Assert.True(await won.AsTask().WaitAsync(TimeSpan.FromSeconds(5)));
        race.End();

        _ = race.Start(request.Hedging, new HttpRequestMessage(HttpMethod.Get, "http://server2/b"), CancellationToken.None);
        var next = race.SendWithinAsync(Delay, second.LeftRouting);
        first.SetUnavailable(UnavailableReasons.CircuitBreaker, unavailable: true);
        await Task.Delay(50);
        Assert.False(next.IsCompleted, "the first request's server leaving decided the second request's race");
        race.End();
    }

    [Fact]
    public async Task The_start_up_warm_up_runs_a_hedge_through_Polly_s_hedging_and_its_answer_wins()
    {
        // The first send waits until cancelled: only the hedge can answer, and the pipeline must cancel the first send.
        Assert.True(await HedgingPipeline.WarmAsync(TimeProvider.System).WaitAsync(TimeSpan.FromSeconds(10)));
    }

    /// <summary>Sends that stay pending until the test completes them, in the order they were sent.</summary>
    private sealed class PendingSends : HttpMessageHandler
    {
        private readonly List<TaskCompletionSource<HttpResponseMessage>> _sends = [];

        public void Complete(int index)
        {
            TaskCompletionSource<HttpResponseMessage> send;
            lock (_sends)
            {
                send = _sends[index];
            }

            send.SetResult(new HttpResponseMessage(System.Net.HttpStatusCode.OK));
        }

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            var send = new TaskCompletionSource<HttpResponseMessage>(TaskCreationOptions.RunContinuationsAsynchronously);
            lock (_sends)
            {
                _sends.Add(send);
            }

            return send.Task;
        }
    }
}
