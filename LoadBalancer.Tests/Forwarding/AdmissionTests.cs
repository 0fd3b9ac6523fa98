using System.Collections.Immutable;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Forwarding;

/// <summary>
/// Admission after the pick: a server a bounded-load table refuses (its last place went to a racing request) is not
/// sent the request; the next pick is, and when none has room the request is still sent, counted as over the bound.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Unit)]
public sealed class AdmissionTests
{
    [Fact]
    public void A_refused_server_gets_nothing_and_the_next_pick_takes_the_request()
    {
        var table = new ScriptedTable(refusals: 1, picks: [1]);

        var admitted = ProxyRequestHandler.PickAdmitted(table, 42, 0, [], out var overBound);

        Assert.Equal(1, admitted);
        Assert.False(overBound);
        Assert.Equal([0, 1], table.Servers.Select(s => s.InFlight));
    }

    [Fact]
    public void A_refused_server_the_next_pick_names_again_is_tried_again()
    {
        // Refused once; by the next pick one of its requests has ended, and it has room.
        var table = new ScriptedTable(refusals: 1, picks: [0]);

        var admitted = ProxyRequestHandler.PickAdmitted(table, 42, 0, [], out var overBound);

        Assert.Equal(0, admitted);
        Assert.False(overBound);
        Assert.Equal([1, 0], table.Servers.Select(s => s.InFlight));
    }

    [Fact]
    public void When_no_server_has_room_the_key_s_own_server_takes_the_request_over_its_bound()
    {
        // The table's fallback when nobody has room: the key's own server, every pick.
        var table = new ScriptedTable(refusals: int.MaxValue, picks: [0, 0, 0, 0, 0]);

        var admitted = ProxyRequestHandler.PickAdmitted(table, 42, 0, [], out var overBound);

        Assert.Equal(0, admitted);
        Assert.True(overBound);
        Assert.Equal([1, 0], table.Servers.Select(s => s.InFlight));
        Assert.Equal(3, table.PickCalls);
    }

    [Fact]
    public void Picks_are_bounded_and_the_last_one_takes_the_request()
    {
        var table = new ScriptedTable(refusals: int.MaxValue, picks: [1, 0, 1, 0, 1, 0]);

        var admitted = ProxyRequestHandler.PickAdmitted(table, 42, 0, [], out var overBound);

        Assert.True(overBound);
        Assert.Equal(1, table.Servers.Sum(s => s.InFlight));
        Assert.Equal(1, table.Servers[admitted].InFlight);
        Assert.Equal(3, table.PickCalls);
    }

    /// <summary>Two servers; refuses the first <c>refusals</c> admissions and answers picks from a script.</summary>
    private sealed class ScriptedTable(int refusals, int[] picks)
        : BalancingTable(ImmutableArray.Create(new BackendServer("a", new Uri("http://127.0.0.1:1")), new BackendServer("b", new Uri("http://127.0.0.1:2"))))
    {
        private int _refusals = refusals;

        public int PickCalls { get; private set; }

        public override int Pick(ulong keyHash, ReadOnlySpan<int> exclude) => picks[PickCalls++];

        public override bool TryBeginRequest(int index) => _refusals-- <= 0 && base.TryBeginRequest(index);
    }
}
