using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Balancing;

/// <summary>A server's live state: the token that tells waiting requests it left routing, and its outpaced count.</summary>
[Trait(TestCategories.Name, TestCategories.Unit)]
public sealed class BackendServerTests
{
    [Fact]
    public void Leaving_routing_cancels_its_token_and_rejoining_gives_a_fresh_one()
    {
        var server = new BackendServer("server1", new Uri("http://127.0.0.1:1"));
        var before = server.LeftRouting;
        Assert.False(before.IsCancellationRequested);

        server.SetUnavailable(UnavailableReasons.HealthProbe, unavailable: true);
        Assert.True(before.IsCancellationRequested);
        Assert.True(server.LeftRouting.IsCancellationRequested);

        // A second reason while out, and one of two cleared: still out.
        server.SetUnavailable(UnavailableReasons.CircuitBreaker, unavailable: true);
        server.SetUnavailable(UnavailableReasons.HealthProbe, unavailable: false);
        Assert.True(server.LeftRouting.IsCancellationRequested);

        server.SetUnavailable(UnavailableReasons.CircuitBreaker, unavailable: false);
        Assert.False(server.LeftRouting.IsCancellationRequested);
        Assert.True(before.IsCancellationRequested);
    }

    [Fact]
    public void Leaves_and_rejoins_racing_each_other_leave_the_token_as_the_availability_says()
    {
        var server = new BackendServer("server1", new Uri("http://127.0.0.1:1"));
        for (var round = 0; round < 200; round++)
        {
            Parallel.For(0, 8, i => server.SetUnavailable(i % 2 == 0 ? UnavailableReasons.HealthProbe : UnavailableReasons.CircuitBreaker, unavailable: (i + round) % 3 != 0));
            Assert.Equal(!server.IsAvailable, server.LeftRouting.IsCancellationRequested);
        }
    }

    [Fact]
    public void An_answer_starts_the_outpaced_count_afresh_and_a_failure_does_not()
    {
        var server = new BackendServer("server1", new Uri("http://127.0.0.1:1"));
        Assert.Equal(1, server.Outpaced());
        server.BeginRequest();
        server.EndRequest(served: false);
        Assert.Equal(2, server.Outpaced());

        server.BeginRequest();
        server.EndRequest(served: true);
        Assert.Equal(1, server.Outpaced());
    }

    [Fact]
    public void A_request_is_admitted_below_the_capacity_or_to_an_idle_server_and_counted_in_the_tally()
    {
        var tally = new InFlightTally();
        var server = new BackendServer("server1", new Uri("http://127.0.0.1:1"), tally: tally);

        // Idle: admitted whatever the capacity.
        Assert.True(server.TryBeginRequest(0));
        Assert.True(server.TryBeginRequest(2));
        Assert.False(server.TryBeginRequest(2));
        Assert.Equal((2, 2L), (server.InFlight, tally.InFlight));

        // Out of routing it counts, but not in the available total.
        server.SetUnavailable(UnavailableReasons.HealthProbe, unavailable: true);
        Assert.True(server.TryBeginRequest(3));
        Assert.Equal((3, 0L), (server.InFlight, tally.InFlight));
    }
}
