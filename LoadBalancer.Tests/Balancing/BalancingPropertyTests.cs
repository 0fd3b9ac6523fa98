using System.Runtime.CompilerServices;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Hashing;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Balancing;

/// <summary>
/// Balance, disruption, health and determinism of every algorithm with its default settings, over 1,000,000 keys.
/// The bounds are the figures measured with these keys (docs/hashing.md) plus a small margin, not loose goals.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Unit)]
public sealed class BalancingPropertyTests(KeySpace keys) : IClassFixture<KeySpace>
{
    private static readonly IHashFunction Hash = new XxHash3Function();

    public static TheoryData<string, int, double> Balance => new()
    {
        // Goals: Ring ≤ 1.10, Maglev ≤ 1.03 (measured: see docs/hashing.md).
        // Measured with these keys: Ring 1.008 / 1.028 / 1.092, Maglev 1.0016 / 1.0031 / 1.024.
        { HashRingAlgorithm.AlgorithmName, 3, 1.015 },
        { HashRingAlgorithm.AlgorithmName, 10, 1.035 },
        { HashRingAlgorithm.AlgorithmName, 100, 1.10 },
        { MaglevAlgorithm.AlgorithmName, 3, 1.003 },
        { MaglevAlgorithm.AlgorithmName, 10, 1.005 },
        { MaglevAlgorithm.AlgorithmName, 100, 1.03 },
    };

    public static TheoryData<string, int> Algorithms
    {
        get
        {
            var data = new TheoryData<string, int>();
            foreach (var algorithm in BalancingAlgorithms.Names)
            {
                foreach (var serverCount in new[] { 3, 10, 100 })
                {
                    data.Add(algorithm, serverCount);
                }
            }

            return data;
        }
    }

    /// <summary>
    /// Keys Maglev moves between servers that neither join nor leave, as a fraction of all keys: measured 0.06 % /
    /// 0.24 % / 0.53 % on add and 0.01 % / 0.24 % / 0.53 % on remove at N = 3 / 10 / 100.
    /// </summary>
    private static double MaglevCollateral(int serverCount) => serverCount switch { 3 => 0.001, 10 => 0.003, _ => 0.006 };

    private static BalancingTable Build(string algorithm, IEnumerable<BackendServer> servers) =>
        BalancingAlgorithms.Create(new BalancingOptions { Algorithm = algorithm }).Build(servers, Hash);

    [Theory]
    [MemberData(nameof(Balance))]
    public void Peak_to_mean_load_stays_within_the_measured_bound(string algorithm, int serverCount, double bound)
    {
        var owners = keys.Owners(Build(algorithm, KeySpace.Servers(serverCount)));

        Assert.Equal(serverCount, owners.Distinct().Count());
        Assert.InRange(KeySpace.PeakToMean(owners, serverCount), 1.0, bound);
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void Adding_a_server_moves_about_its_fair_share_and_only_to_it(string algorithm, int serverCount)
    {
        var servers = KeySpace.Servers(serverCount);
        var before = keys.Owners(Build(algorithm, servers));
        var newcomer = KeySpace.Servers(1, serverCount + 1)[0];
        var after = keys.Owners(Build(algorithm, [.. servers, newcomer]));

        var moved = KeySpace.Changed(before, after);
        var toOthers = Enumerable.Range(0, before.Length).Count(i => before[i] != after[i] && after[i] != newcomer.Name);
        var optimum = (double)KeySpace.Count / (serverCount + 1);

        // Ring (and bounded load without load) moves keys only to the newcomer (measured 0.95× / 1.05× / 1.05× the
        // optimum); Maglev also reshuffles a little between others, which takes it to 1.57× the optimum at N = 100.
        if (algorithm == MaglevAlgorithm.AlgorithmName)
        {
            Assert.InRange(toOthers, 0, KeySpace.Count * MaglevCollateral(serverCount));
            Assert.InRange(moved, 0, optimum * (serverCount == 100 ? 1.6 : 1.1));
        }
        else
        {
            Assert.Equal(0, toOthers);
            Assert.InRange(moved, 0, optimum * 1.1);
        }

        Assert.InRange(moved, optimum * 0.7, double.MaxValue);
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void Removing_a_server_moves_its_keys_and_next_to_no_others(string algorithm, int serverCount)
    {
        var servers = KeySpace.Servers(serverCount);
        var before = keys.Owners(Build(algorithm, servers));
        var leaving = servers[serverCount / 2];
        var after = keys.Owners(Build(algorithm, servers.Where(m => m != leaving)));

        Assert.DoesNotContain(leaving.Name, after);
        var others = KeySpace.Changed(before, after, except: leaving.Name);
        if (algorithm == MaglevAlgorithm.AlgorithmName)
        {
            // Maglev's permutations shift a little around the gap.
            Assert.InRange(others, 0, KeySpace.Count * MaglevCollateral(serverCount));
        }
        else
        {
            Assert.Equal(0, others);
        }
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void A_health_flip_moves_only_the_flipped_servers_keys_and_they_come_back(string algorithm, int serverCount)
    {
        var servers = KeySpace.Servers(serverCount);
        var table = Build(algorithm, servers);
        var before = keys.Owners(table);
        var flipped = servers[serverCount / 2];

        flipped.SetUnavailable(UnavailableReasons.HealthProbe, true);
        var during = keys.Owners(table);
        flipped.SetUnavailable(UnavailableReasons.CircuitBreaker, true);
        flipped.SetUnavailable(UnavailableReasons.HealthProbe, false);
        Assert.Equal(during, keys.Owners(table));
        flipped.SetUnavailable(UnavailableReasons.CircuitBreaker, false);

        Assert.DoesNotContain(flipped.Name, during);
        Assert.Equal(0, KeySpace.Changed(before, during, except: flipped.Name));
        Assert.Equal(before.Count(o => o == flipped.Name), KeySpace.Changed(before, during));

        // Its keys spread over several servers rather than piling onto one neighbour.
        var heirs = Enumerable.Range(0, before.Length).Where(i => before[i] == flipped.Name).Select(i => during[i]).Distinct().Count();
        Assert.InRange(heirs, Math.Min(2, serverCount - 1), serverCount - 1);

        Assert.Equal(before, keys.Owners(table));
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void The_mapping_does_not_depend_on_the_order_servers_arrive_in(string algorithm, int serverCount)
    {
        var servers = KeySpace.Servers(serverCount);
        var shuffled = servers.ToArray();
        new Random(serverCount).Shuffle(shuffled);

        Assert.Equal(keys.Owners(Build(algorithm, servers)), keys.Owners(Build(algorithm, shuffled.Reverse())));

        // Fresh objects with the same names (another proxy instance) map identically too.
        Assert.Equal(keys.Owners(Build(algorithm, servers)), keys.Owners(Build(algorithm, KeySpace.Servers(serverCount))));
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void Pick_allocates_nothing(string algorithm, int serverCount)
    {
        var servers = KeySpace.Servers(serverCount);
        servers[0].SetUnavailable(UnavailableReasons.HealthProbe, true);
        servers[^1].BeginRequest();
        var table = Build(algorithm, servers);
        // Warm up first: tiering and on-stack replacement may allocate on this thread the first time round. An
        // allocating Pick allocates in every run, so one clean run out of three proves it allocates nothing.
        Assert.True(RunPicks(table, keys.Hashes, [1]).Sum > 0);
        var allocated = Enumerable.Range(0, 3).Select(_ => RunPicks(table, keys.Hashes, [1]).Allocated).ToArray();
        Assert.Contains(0L, allocated);
    }

    [MethodImpl(MethodImplOptions.NoInlining | MethodImplOptions.AggressiveOptimization)]
    private static (long Allocated, long Sum) RunPicks(BalancingTable table, ulong[] hashes, int[] excluded)
    {
        ReadOnlySpan<int> exclude = excluded;
        var before = GC.GetAllocatedBytesForCurrentThread();
        long sum = 0;
        for (var i = 0; i < 100_000; i++)
        {
            sum += table.Pick(hashes[i], i % 2 == 0 ? [] : exclude);
        }

        return (GC.GetAllocatedBytesForCurrentThread() - before, sum);
    }
}
