using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Hashing;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Balancing;

[Trait(TestCategories.Name, TestCategories.Unit)]
public sealed class HashRingTests
{
    private static readonly IHashFunction Hash = new XxHash3Function();

    private static BackendServer[] Servers(int count) =>
        Enumerable.Range(1, count).Select(i => new BackendServer($"server{i}", new Uri($"http://127.0.0.1:{6000 + i}"))).ToArray();

    private static string Owner(BalancingTable table, string key) =>
        table.Servers[table.Pick(Hash.HashKey(key), [])].Name;

    [Fact]
    public void Same_key_always_reaches_the_same_server()
    {
        var ring = HashRing.Create(Servers(3), Hash, virtualNodes: 160);
        foreach (var key in Keys.Random(1000))
        {
            var first = Owner(ring, key);
            Assert.All(Enumerable.Range(0, 5), _ => Assert.Equal(first, Owner(ring, key)));
        }
    }

    [Fact]
    public void Mapping_does_not_depend_on_the_order_servers_arrive_in()
    {
        var servers = Servers(10);
        var forward = HashRing.Create(servers, Hash, 160);
        var backward = HashRing.Create(servers.Reverse(), Hash, 160);
        var shuffled = HashRing.Create(servers.OrderBy(m => m.Name.GetHashCode(StringComparison.Ordinal)), Hash, 160);

        foreach (var key in Keys.Random(5000))
        {
            var owner = Owner(forward, key);
            Assert.Equal(owner, Owner(backward, key));
            Assert.Equal(owner, Owner(shuffled, key));
        }
    }

    [Fact]
    public void Keys_spread_over_all_servers()
    {
        var ring = HashRing.Create(Servers(3), Hash, 160);
        var counts = Keys.Random(30_000).GroupBy(k => Owner(ring, k)).ToDictionary(g => g.Key, g => g.Count());

        Assert.Equal(3, counts.Count);
        Assert.All(counts.Values, count => Assert.InRange(count, 8_000, 12_000));
    }

    [Fact]
    public void Adding_a_server_moves_keys_only_to_the_new_server()
    {
        var three = Servers(3);
        var before = HashRing.Create(three, Hash, 160);
        var after = HashRing.Create([.. three, new BackendServer("server4", new Uri("http://127.0.0.1:6004"))], Hash, 160);

        var moved = 0;
        var keys = Keys.Random(20_000);
        foreach (var key in keys)
        {
            var old = Owner(before, key);
            var now = Owner(after, key);
            if (old != now)
            {
                Assert.Equal("server4", now);
                moved++;
            }
        }

        // The new server takes about a quarter of the key space, and nothing else moves.
        Assert.InRange(moved, keys.Length * 15 / 100, keys.Length * 35 / 100);
    }

    [Fact]
    public void Removing_a_server_moves_only_that_servers_keys()
    {
        var four = Servers(4);
        var before = HashRing.Create(four, Hash, 160);
        var after = HashRing.Create(four.Where(m => m.Name != "server2"), Hash, 160);

        foreach (var key in Keys.Random(20_000))
        {
            var old = Owner(before, key);
            if (old != "server2")
            {
                Assert.Equal(old, Owner(after, key));
            }
            else
            {
                Assert.NotEqual("server2", Owner(after, key));
            }
        }
    }

    [Fact]
    public void Unavailable_server_is_skipped_and_its_keys_return_when_it_recovers()
    {
        var servers = Servers(3);
        var ring = HashRing.Create(servers, Hash, 160);
        var keys = Keys.Random(5000);
        var owners = keys.ToDictionary(k => k, k => Owner(ring, k));

        servers[0].SetUnavailable(UnavailableReasons.HealthProbe, true);
        foreach (var key in keys)
        {
            var now = Owner(ring, key);
            Assert.NotEqual("server1", now);
            if (owners[key] != "server1")
            {
                Assert.Equal(owners[key], now);
            }
        }

        servers[0].SetUnavailable(UnavailableReasons.HealthProbe, false);
        Assert.All(keys, key => Assert.Equal(owners[key], Owner(ring, key)));
    }

    [Fact]
    public void Excluded_servers_are_skipped_in_ring_order()
    {
        var ring = HashRing.Create(Servers(3), Hash, 160);
        var hash = Hash.HashKey("some-key");
        var first = ring.Pick(hash, []);
        var second = ring.Pick(hash, [first]);
        var third = ring.Pick(hash, [first, second]);

        Assert.Equal(3, new[] { first, second, third }.Distinct().Count());
        Assert.Equal(-1, ring.Pick(hash, [first, second, third]));
    }

    [Fact]
    public void Empty_ring_picks_nobody()
    {
        var ring = HashRing.Create([], Hash, 160);
        Assert.Equal(-1, ring.Pick(42, []));
    }

    [Fact]
    public void Weight_two_owns_about_twice_the_keys()
    {
        BackendServer[] servers =
        [
            new("server1", new Uri("http://127.0.0.1:6001"), weight: 2),
            new("server2", new Uri("http://127.0.0.1:6002")),
            new("server3", new Uri("http://127.0.0.1:6003")),
        ];
        var ring = HashRing.Create(servers, Hash, 160);
        var counts = Keys.Random(40_000).GroupBy(k => Owner(ring, k)).ToDictionary(g => g.Key, g => g.Count());

        Assert.InRange(counts["server1"] / (double)counts["server2"], 1.6, 2.4);
        Assert.InRange(counts["server1"] / (double)counts["server3"], 1.6, 2.4);
    }
}
