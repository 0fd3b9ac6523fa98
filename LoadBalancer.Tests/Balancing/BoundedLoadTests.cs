using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Hashing;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Balancing;

[Trait(TestCategories.Name, TestCategories.Unit)]
public sealed class BoundedLoadTests(KeySpace keys) : IClassFixture<KeySpace>
{
    private static readonly IHashFunction Hash = new XxHash3Function();

    [Theory]
    [InlineData(3, 1.25)]
    [InlineData(10, 1.25)]
    [InlineData(100, 1.25)]
    [InlineData(10, 1.05)]
    [InlineData(10, 2.0)]
    public void No_server_ever_holds_more_than_c_times_the_average(int serverCount, double c)
    {
        // Requests stay in flight for a random while (0–2 × 5 × N arrivals), so loads rise, fall and pile up on
        // hot keys; after every placement the chosen server must be within ⌈c × (total in flight) / N⌉.
        var servers = KeySpace.Servers(serverCount);
        var table = BoundedLoadTable.Create(servers, Hash, 100, c);
        var random = new Random(serverCount);
        var finishing = new PriorityQueue<BackendServer, long>();
        var spilled = 0;
        var ring = HashRing.Create(servers, Hash, 100);
        var total = 0;
        for (var t = 0L; t < 200_000; t++)
        {
            while (finishing.TryPeek(out _, out var end) && end <= t)
            {
                finishing.Dequeue().EndRequest(served: true);
                total--;
            }

            var hash = keys.Hashes[t % 1000];
            var index = table.Pick(hash, []);
            var server = table.Servers[index];
            server.BeginRequest();
            total++;
            Assert.InRange(server.InFlight, 1, (long)Math.Ceiling(c * total / serverCount));
            finishing.Enqueue(server, t + random.Next(0, 10 * serverCount));
            if (index != ring.Pick(hash, []))
            {
                spilled++;
            }
        }

        // Only 1,000 distinct keys: hot keys must spill to neighbours, or the bound could not hold.
        Assert.True(spilled > 0);
    }

    [Fact]
    public void Without_load_it_maps_like_the_ring()
    {
        var servers = KeySpace.Servers(10);
        var bounded = BoundedLoadTable.Create(servers, Hash, 200);
        var ring = HashRing.Create(servers, Hash, 200);
        for (var i = 0; i < 100_000; i++)
        {
            Assert.Equal(ring.Pick(keys.Hashes[i], []), bounded.Pick(keys.Hashes[i], []));
        }
    }

    [Fact]
    public void A_server_at_its_bound_passes_the_key_to_the_next_server_clockwise()
    {
        var servers = KeySpace.Servers(3);
        var table = BoundedLoadTable.Create(servers, Hash, 100, BoundedLoadTable.DefaultBalanceFactor, BoundedLoadProbe.Clockwise);
        var ring = HashRing.Create(servers, Hash, 100);
        var hash = keys.Hashes[0];
        var home = ring.Pick(hash, []);

        // Home holds 4, the others 0: the bound is ⌈1.25 × 5 / 3⌉ = 3, so home is full.
        for (var i = 0; i < 4; i++)
        {
            table.Servers[home].BeginRequest();
        }

        Assert.Equal(3, table.Capacity(home));
        Assert.Equal(ring.Pick(hash, [home]), table.Pick(hash, []));

        // The others take 2 each: 8 in flight, the bound ⌈1.25 × 9 / 3⌉ = 4, home (4) is still full.
        foreach (var other in Enumerable.Range(0, 3).Where(i => i != home))
        {
            table.Servers[other].BeginRequest();
            table.Servers[other].BeginRequest();
        }

        Assert.NotEqual(home, table.Pick(hash, []));

        // Home finishes one: 3 < ⌈1.25 × 8 / 3⌉ = 4, so it gets its key back.
        table.Servers[home].EndRequest(served: true);
        Assert.Equal(home, table.Pick(hash, []));
    }

    [Fact]
    public void A_server_whose_last_place_was_taken_since_the_pick_is_not_admitted()
    {
        var servers = KeySpace.Servers(3);
        var table = BoundedLoadTable.Create(servers, Hash, 100);
        var hash = keys.Hashes[0];
        var home = table.Pick(hash, []);

        // Since the pick (made while it held none), home took 2 and the others none: its bound is ⌈1.25 × 3 / 3⌉ = 2.
        table.Servers[home].BeginRequest();
        table.Servers[home].BeginRequest();

        Assert.False(table.TryBeginRequest(home));
        Assert.Equal(2, table.Servers[home].InFlight);
        var other = table.Pick(hash, []);
        Assert.NotEqual(home, other);
        Assert.True(table.TryBeginRequest(other));
        Assert.Equal(1, table.Servers[other].InFlight);
    }

    [Fact]
    public void Picks_racing_on_many_threads_never_take_a_server_past_its_bound()
    {
        // Nothing ends, so the total only grows: each admission was within ⌈c × (total so far + 1) / N⌉, so at the end
        // every server is within ⌈c × total / N⌉.
        var servers = KeySpace.Servers(3);
        var table = BoundedLoadTable.Create(servers, Hash, 100);
        var admitted = 0;
        Parallel.For(0, 8, worker =>
        {
            for (var i = 0; i < 5_000; i++)
            {
                var hash = keys.Hashes[((worker * 5_000) + i) % 10];
                for (var tries = 0; tries < 100; tries++)
                {
                    if (table.TryBeginRequest(table.Pick(hash, [])))
                    {
                        Interlocked.Increment(ref admitted);
                        break;
                    }
                }
            }
        });

        var bound = (long)Math.Ceiling(BoundedLoadTable.DefaultBalanceFactor * admitted / 3);
        Assert.All(table.Servers, server => Assert.InRange(server.InFlight, 0, bound));
        Assert.Equal(admitted, table.Servers.Sum(server => server.InFlight));
    }

    [Fact]
    public void Unavailable_servers_are_neither_picked_nor_counted_in_the_average()
    {
        var servers = KeySpace.Servers(3);
        var table = BoundedLoadTable.Create(servers, Hash, 100);
        servers[0].SetUnavailable(UnavailableReasons.HealthProbe, true);
        servers[1].BeginRequest();
        servers[1].BeginRequest();

        // Two available servers, 2 in flight: ⌈1.25 × 3 / 2⌉ = 2 for each.
        Assert.Equal(2, table.Capacity(1));
        for (var i = 0; i < 1000; i++)
        {
            Assert.Equal(2, table.Pick(keys.Hashes[i], []));
        }

        servers[2].SetUnavailable(UnavailableReasons.HealthProbe, true);
        Assert.Equal(1, table.Pick(keys.Hashes[0], []));
        Assert.Equal(-1, table.Pick(keys.Hashes[0], [1]));
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.5)]
    [InlineData(double.NaN)]
    public void A_factor_of_one_or_less_is_refused(double c)
    {
        Assert.Throws<ArgumentOutOfRangeException>(() => BoundedLoadTable.Create(KeySpace.Servers(3), Hash, 10, c));
    }
}
