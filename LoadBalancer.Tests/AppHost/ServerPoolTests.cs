using LoadBalancer.AppHost.Provisioning;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.AppHost;

/// <summary>
/// The AppHost's pool on its own: which slot a named or unnamed server gets, what is refused, and that the listed
/// servers (what every proxy builds its table from) change only with readiness, retirement and release.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Unit)]
public sealed class ServerPoolTests
{
    private static readonly Uri Address = new("http://127.0.0.1:1");

    [Fact]
    public void Names_asked_for_take_free_slots_and_the_rest_are_invented_from_the_slots_own_names()
    {
        var pool = Started(slots: 6, started: 3);

        var reservation = pool.Reserve(["S5", "S4"], count: 3);

        Assert.Null(reservation.Error);
        Assert.Equal([("server4", "S5"), ("server5", "S4"), ("server6", "server6")], reservation.Slots);
        Assert.Equal("S5", pool.NameOf("server4"));
    }

    [Fact]
    public void A_slots_own_name_goes_back_to_that_slot_and_an_invented_name_skips_names_in_use()
    {
        var pool = Started(slots: 4, started: 3);
        pool.Retire(["server2"]);
        pool.Release("server2");

        // server2 and server4 are both free: each name goes to the slot of that name, not to the first free one.
        var named = pool.Reserve(["server4", "server2"], count: 2);
        Assert.Equal([("server4", "server4"), ("server2", "server2")], named.Slots);

        // Slot server4 is free again but its own name runs in slot server5: the first serverK no one uses is invented.
        var invented = Started(slots: 5, started: 3);
        invented.Reserve(["A"], count: 1);                                          // slot server4
        Assert.Equal([("server5", "server4")], invented.Reserve(["server4"], count: 1).Slots);
        invented.Release("server4");
        Assert.Equal([("server4", "server5")], invented.Reserve([], count: 1).Slots);
    }

    [Fact]
    public void A_name_in_use_a_count_over_the_free_slots_and_an_unknown_or_last_server_are_refused()
    {
        var pool = Started(slots: 4, started: 3);

        Assert.Equal(PoolRefusal.Conflict, pool.Reserve(["server2"], 1).Refusal);
        var tooMany = pool.Reserve([], 2);
        Assert.Equal(PoolRefusal.TooMany, tooMany.Refusal);
        Assert.Equal("<Error> Only 1 more server(s) can be started: the AppHost runs at most 4 (LoadBalancer:MaxServers)", tooMany.Error);
        Assert.Equal(PoolRefusal.Unknown, pool.Retire(["S9"]).Refusal);
        Assert.Equal(PoolRefusal.Conflict, pool.Retire(["server1", "server2", "server3"]).Refusal);
        // Nothing refused changed the list.
        Assert.Equal(["server1", "server2", "server3"], pool.List().Servers.Select(s => s.Name));
    }

    [Fact]
    public void The_list_shows_ready_servers_only_and_its_version_moves_with_every_change()
    {
        var pool = Started(slots: 4, started: 3);
        var before = pool.List();
        var changed = pool.WhenChangedAsync(before.Version);
        Assert.False(changed.IsCompleted);

        var reservation = pool.Reserve(["S5"], 1);
        Assert.DoesNotContain("S5", pool.List().Servers.Select(s => s.Name)); // reserved, not yet ready

        pool.SetReady("server4", ready: true, Address, h2c: null);
        Assert.True(changed.IsCompleted);
        Assert.Contains("S5", pool.List().Servers.Select(s => s.Name));

        var version = pool.List().Version;
        pool.Retire(["S5"]);
        Assert.True(pool.List().Version > version);
        Assert.DoesNotContain("S5", pool.List().Servers.Select(s => s.Name)); // retiring: off the list before it stops
        pool.Release(reservation.Slots[0].Resource);
        Assert.Equal(1, pool.List().Free);
    }

    private static ServerPool Started(int slots, int started)
    {
        var pool = new ServerPool(Enumerable.Range(1, slots).Select(i => $"server{i}").ToArray(), started);
        for (var i = 1; i <= started; i++)
        {
            pool.SetReady($"server{i}", ready: true, Address, h2c: null);
        }

        return pool;
    }
}
