using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Hashing;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Balancing;

/// <summary>Where a bounded-load table sends a request whose key's server is full (<see cref="BoundedLoadProbe"/>).</summary>
[Trait(TestCategories.Name, TestCategories.Unit)]
public sealed class BoundedLoadProbeTests(KeySpace keys) : IClassFixture<KeySpace>
{
    private static readonly IHashFunction Hash = new XxHash3Function();

    [Theory]
    [InlineData(BoundedLoadProbe.RandomJump, 10, 1.25, 1000)]
    [InlineData(BoundedLoadProbe.RandomJump, 10, 1.05, 100)]
    [InlineData(BoundedLoadProbe.RandomJump, 30, 1.25, 16)]
    [InlineData(BoundedLoadProbe.RandomJump, 3, 2.0, 1)]
    [InlineData(BoundedLoadProbe.Clockwise, 10, 1.25, 100)]
    public void The_bound_holds_for_skewed_keys(BoundedLoadProbe probe, int serverCount, double c, int virtualNodes)
    {
        // 5,000 distinct keys drawn by a Zipf law (s = 1.1: the top key alone is ~15 % of requests, more than a
        // server's share), held for a random while; after every placement the server must be within its bound.
        var servers = KeySpace.Servers(serverCount);
        var table = BoundedLoadTable.Create(servers, Hash, virtualNodes, c, probe);
        var ring = HashRing.Create(servers, Hash, virtualNodes);
        var zipf = Zipf(5000, 1.1);
        var random = new Random(serverCount + virtualNodes);
        var finishing = new PriorityQueue<BackendServer, long>();
        var total = 0;
        var spilled = 0;
        for (var t = 0L; t < 100_000; t++)
        {
            while (finishing.TryPeek(out _, out var end) && end <= t)
            {
                finishing.Dequeue().EndRequest(served: true);
                total--;
            }

            var hash = keys.Hashes[Draw(zipf, random)];
            var index = table.Pick(hash, []);
            var server = table.Servers[index];
            server.BeginRequest();
            total++;
            Assert.InRange(server.InFlight, 1, (long)Math.Ceiling(c * total / serverCount));
            finishing.Enqueue(server, t + random.Next(0, 20 * serverCount));
            spilled += index == ring.Pick(hash, []) ? 0 : 1;
        }

        Assert.True(spilled > 1000, $"only {spilled} requests left their key's server: the skew did not test the probe");
    }

    [Theory]
    [InlineData(BoundedLoadProbe.RandomJump)]
    [InlineData(BoundedLoadProbe.Clockwise)]
    public void Replicas_probe_a_key_in_the_same_order(BoundedLoadProbe probe)
    {
        // Two proxies: their own server objects, listed in different orders, with the same loads. Every key's whole
        // probe order (pick, exclude it, pick again, …) must match, so both send its overflow to the same servers.
        var names = Enumerable.Range(1, 10).ToArray();
        var a = names.Select(i => new BackendServer($"server{i}", new Uri($"http://127.0.0.1:{6000 + i}"), tally: null)).ToArray();
        var sharedB = new InFlightTally();
        var b = names.Reverse().Select(i => new BackendServer($"server{i}", new Uri($"http://127.0.0.1:{6000 + i}"), tally: sharedB)).ToArray();
        var tableA = BoundedLoadTable.Create(a, Hash, 50, 1.25, probe);
        var tableB = BoundedLoadTable.Create(b, Hash, 50, 1.25, probe);
        var loads = new[] { 40, 0, 3, 40, 1, 0, 40, 2, 5, 0 };
        for (var i = 0; i < loads.Length; i++)
        {
            Load(tableA.Servers[i], loads[i]);
            Load(tableB.Servers[i], loads[i]);
        }

        var ring = HashRing.Create(a, Hash, 50);
        var moved = 0;
        Span<int> tried = stackalloc int[10];
        for (var k = 0; k < 2000; k++)
        {
            var hash = keys.Hashes[k];
            for (var attempt = 0; attempt < 10; attempt++)
            {
                var pickA = tableA.Pick(hash, tried[..attempt]);
                var pickB = tableB.Pick(hash, tried[..attempt]);
                Assert.Equal(tableA.Servers[pickA].Name, tableB.Servers[pickB].Name);
                Assert.Equal(pickA, tableA.Pick(hash, tried[..attempt])); // and every call agrees with itself
                tried[attempt] = pickA;
            }

            moved += tried[0] == ring.Pick(hash, []) ? 0 : 1;
            if (k == 200)
            {
                Assert.True(moved > 20, "too few keys overflowed for the order to be tested");
            }
        }
    }

    [Theory]
    [InlineData(BoundedLoadProbe.RandomJump)]
    [InlineData(BoundedLoadProbe.Clockwise)]
    public void Servers_already_tried_are_never_picked_again(BoundedLoadProbe probe)
    {
        var servers = KeySpace.Servers(6);
        var table = BoundedLoadTable.Create(servers, Hash, 100, 1.25, probe);
        var ring = HashRing.Create(servers, Hash, 100);
        for (var k = 0; k < 500; k++)
        {
            var hash = keys.Hashes[k];
            var home = ring.Pick(hash, []);
            foreach (var server in table.Servers)
            {
                Reset(server);
            }

            // Home full (the bound with 31 in flight is ⌈1.25 × 31 / 6⌉ = 7), the others idle: the request overflows.
            Load(table.Servers[home], 30);
            var first = table.Pick(hash, []);
            Assert.NotEqual(home, first);

            // Excluding the overflow's first choice sends it to another server with room, never back to a tried one.
            ReadOnlySpan<int> tried = [first];
            var second = table.Pick(hash, tried);
            Assert.NotEqual(first, second);
            Assert.NotEqual(home, second);

            // Every other server tried: the full home is all that is left, and takes it rather than nothing.
            int[] allButHome = [.. Enumerable.Range(0, 6).Where(i => i != home)];
            Assert.Equal(home, table.Pick(hash, allButHome));
            Assert.Equal(-1, table.Pick(hash, [.. allButHome, home]));
        }
    }

    [Theory]
    [InlineData(BoundedLoadProbe.RandomJump, true)]
    [InlineData(BoundedLoadProbe.Clockwise, false)]
    public void A_hot_servers_overflow_does_not_all_land_on_its_clockwise_neighbour(BoundedLoadProbe probe, bool spreads)
    {
        // One point per server, so each server has exactly one clockwise neighbour. The hot server is full; every key
        // it owns must overflow somewhere: clockwise, all to the neighbour; with random jumps, across the others.
        var servers = KeySpace.Servers(10);
        var table = BoundedLoadTable.Create(servers, Hash, 1, 1.25, probe);
        var ring = HashRing.Create(servers, Hash, 1);
        var hot = Enumerable.Range(0, 10).MaxBy(i => ring.Shares()[i]);
        Load(table.Servers[hot], 100);
        var landed = new int[10];
        var overflowed = 0;
        for (var k = 0; k < 100_000 && overflowed < 5000; k++)
        {
            if (ring.Pick(keys.Hashes[k], []) == hot)
            {
                landed[table.Pick(keys.Hashes[k], [])]++;
                overflowed++;
            }
        }

        Assert.Equal(0, landed[hot]);
        var points = ring.Points;
        var at = Enumerable.Range(0, points.Count).Single(i => points[i].Server == hot);
        var neighbour = points[(at + 1) % points.Count].Server;
        var onNeighbour = (double)landed[neighbour] / overflowed;
        var receivers = landed.Count(n => n > 0);
        if (spreads)
        {
            Assert.InRange(onNeighbour, 0, 0.25);
            Assert.Equal(9, receivers);
        }
        else
        {
            // The property that clockwise lacks, checked against it: everything on the one neighbour.
            Assert.Equal(1.0, onNeighbour);
            Assert.Equal(1, receivers);
        }
    }

    [Theory]
    [InlineData(BoundedLoadProbe.RandomJump)]
    [InlineData(BoundedLoadProbe.Clockwise)]
    public void The_tally_and_the_sum_pick_alike_through_load_and_availability_changes(BoundedLoadProbe probe)
    {
        // The proxy's servers share a tally (O(1) total); servers without one are summed. Same loads, same picks,
        // also after servers leave and rejoin routing (the cached available weight must follow).
        var tallied = KeySpace.Servers(8);
        var summed = KeySpace.UntalliedServers(8);
        var a = BoundedLoadTable.Create(tallied, Hash, 100, 1.25, probe);
        var b = BoundedLoadTable.Create(summed, Hash, 100, 1.25, probe);
        var random = new Random(7);
        for (var step = 0; step < 20_000; step++)
        {
            var server = random.Next(8);
            switch (random.Next(10))
            {
                case < 6:
                    a.Servers[server].BeginRequest();
                    b.Servers[server].BeginRequest();
                    break;
                case < 9 when a.Servers[server].InFlight > 0:
                    a.Servers[server].EndRequest(served: true);
                    b.Servers[server].EndRequest(served: true);
                    break;
                default:
                    var reason = random.Next(2) == 0 ? UnavailableReasons.HealthProbe : UnavailableReasons.CircuitBreaker;
                    var down = random.Next(2) == 0;
                    a.Servers[server].SetUnavailable(reason, down);
                    b.Servers[server].SetUnavailable(reason, down);
                    break;
            }

            var expected = b.Servers.Where(s => s.IsAvailable).Sum(s => s.InFlight);
            Assert.Equal(expected, tallied[0].Tally!.InFlight);
            var hash = keys.Hashes[step];
            Assert.Equal(b.Pick(hash, []), a.Pick(hash, []));
            Assert.Equal(b.Capacity(server), a.Capacity(server));
        }
    }

    private static void Load(BackendServer server, int count)
    {
        for (var i = 0; i < count; i++)
        {
            server.BeginRequest();
        }
    }

    private static void Reset(BackendServer server)
    {
        while (server.InFlight > 0)
        {
            server.EndRequest(served: false);
        }
    }

    private static double[] Zipf(int keys, double s)
    {
        var cdf = new double[keys];
        var sum = 0.0;
        for (var k = 0; k < keys; k++)
        {
            sum += 1 / Math.Pow(k + 1, s);
            cdf[k] = sum;
        }

        return Array.ConvertAll(cdf, v => v / sum);
    }

    private static int Draw(double[] cdf, Random random)
    {
        var index = Array.BinarySearch(cdf, random.NextDouble());
        return Math.Min(index < 0 ? ~index : index, cdf.Length - 1);
    }
}
