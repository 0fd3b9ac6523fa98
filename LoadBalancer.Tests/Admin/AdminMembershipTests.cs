using LoadBalancer.Proxy.Admin;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Membership;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Admin;

/// <summary>How admin changes and service discovery combine: (discovered ∪ added) − removed, applied whole or not at all.</summary>
[Trait(TestCategories.Name, TestCategories.Unit)]
public sealed class AdminMembershipTests
{
    private readonly TableState _state = new();
    private readonly MembershipManager _manager;

    public AdminMembershipTests()
    {
        _manager = new MembershipManager(_state, Options.Create(new BalancingOptions()), NullLogger<MembershipManager>.Instance);
    }

    private static Dictionary<string, Uri> Discovered(params int[] servers) =>
        servers.ToDictionary(i => $"server{i}", i => new Uri($"http://127.0.0.1:{40000 + i}/"));

    private static ServerReference[] Refs(params string[] hostnames) => hostnames.Select(AdminRequestReader.ToReference).ToArray();

    [Fact]
    public void A_removed_server_stays_out_while_discovery_still_lists_it_until_added_back()
    {
        _manager.SetDiscovered(Discovered(1, 2, 3));
        Assert.True(_manager.Remove(Refs("server2"), 1, new Random(1)).Applied);

        _manager.SetDiscovered(Discovered(1, 2, 3, 4));
        Assert.Equal(["server1", "server3", "server4"], _manager.CurrentServers);

        Assert.True(_manager.Add(Refs("server2"), 1).Applied);
        Assert.Equal(["server1", "server2", "server3", "server4"], _manager.CurrentServers);
    }

    [Fact]
    public void A_server_added_by_address_survives_discovery_changes_and_a_server_discovery_drops_leaves()
    {
        _manager.SetDiscovered(Discovered(1, 2));
        Assert.True(_manager.Add(Refs("http://127.0.0.1:6001"), 1).Applied);

        _manager.SetDiscovered(Discovered(1));

        Assert.Equal(["127.0.0.1:6001", "server1"], _manager.CurrentServers);
        Assert.Equal(new Uri("http://127.0.0.1:6001/"), _state.Current!.Table.Servers[0].Address);
    }

    [Fact]
    public void Servers_that_stay_keep_their_upstream_objects_across_admin_changes()
    {
        _manager.SetDiscovered(Discovered(1, 2, 3));
        var server1 = _state.Current!.Table.Servers[0];

        _manager.Remove(Refs("server3"), 1, new Random(1));
        _manager.Add(Refs("server3"), 1);

        Assert.Same(server1, _state.Current!.Table.Servers[0]);
        Assert.Equal(3, _state.Current.Version);
    }

    [Fact]
    public void A_refused_remove_publishes_nothing_even_when_its_first_names_were_valid()
    {
        _manager.SetDiscovered(Discovered(1, 2, 3));
        var before = _state.Current;

        var edit = _manager.Remove(Refs("server1", "server9"), 2, new Random(1));

        Assert.False(edit.Applied);
        Assert.Equal(404, edit.StatusCode);
        Assert.Same(before, _state.Current);
        Assert.Equal(["server1", "server2", "server3"], _manager.CurrentServers);
    }

    [Fact]
    public void A_refused_add_leaves_no_trace_of_the_addresses_it_named()
    {
        _manager.SetDiscovered(Discovered(1));
        var before = _state.Current;

        var edit = _manager.Add(Refs("http://127.0.0.1:6001", "server9"), 2);

        Assert.Equal(404, edit.StatusCode);
        Assert.Same(before, _state.Current);

        // Had the address been half-added, it would now be a known inactive server: 409 and one to add, not 404 and none.
        Assert.Equal(404, _manager.Remove(Refs("127.0.0.1:6001"), 1, new Random(1)).StatusCode);
        Assert.Equal(400, _manager.Add([], 1).StatusCode);
    }

    [Fact]
    public void Naming_a_server_by_name_and_by_address_in_one_call_is_refused()
    {
        _manager.SetDiscovered(Discovered(1, 2, 3));

        var edit = _manager.Remove(Refs("server1", "http://127.0.0.1:40001"), 2, new Random(1));

        Assert.Equal(400, edit.StatusCode);
        Assert.Equal("<Error> Server 'http://127.0.0.1:40001' is named twice", edit.Error);
    }

    [Fact]
    public void Random_removal_draws_from_the_given_generator_only()
    {
        _manager.SetDiscovered(Discovered(1, 2, 3, 4, 5, 6));
        var expected = new[] { "server1", "server2", "server3", "server4", "server5", "server6" };
        var random = new Random(7);
        var pool = expected.ToArray();
        for (var i = 0; i < 3; i++)
        {
            var pick = random.Next(i, pool.Length);
            (pool[i], pool[pick]) = (pool[pick], pool[i]);
        }

        var edit = _manager.Remove([], 3, new Random(7));

        Assert.Equal(pool[..3].Order(StringComparer.Ordinal), edit.Changed);
        Assert.Equal(expected.Except(pool[..3]), edit.Servers);
    }
}
