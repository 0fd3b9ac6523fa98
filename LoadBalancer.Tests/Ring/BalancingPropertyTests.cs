using System.Runtime.CompilerServices;
using LoadBalancer.Proxy.Hashing;
using LoadBalancer.Proxy.Ring;

namespace LoadBalancer.Tests.Ring;

/// <summary>
/// Balance, disruption, health and determinism of every algorithm with its default settings, over 1,000,000 keys.
/// The bounds are the figures measured with these keys (docs/hashing.md) plus a small margin, not loose goals.
/// </summary>
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
                foreach (var servers in new[] { 3, 10, 100 })
                {
                    data.Add(algorithm, servers);
                }
            }

            return data;
        }
    }

    /// <summary>
    /// Keys Maglev moves between members that neither join nor leave, as a fraction of all keys: measured 0.06 % /
    /// 0.24 % / 0.53 % on add and 0.01 % / 0.24 % / 0.53 % on remove at N = 3 / 10 / 100.
    /// </summary>
    private static double MaglevCollateral(int servers) => servers switch { 3 => 0.001, 10 => 0.003, _ => 0.006 };

    private static BalancingTable Build(string algorithm, IEnumerable<Upstream> members) =>
        BalancingAlgorithms.Create(new BalancingOptions { Algorithm = algorithm }).Build(members, Hash);

    [Theory]
    [MemberData(nameof(Balance))]
    public void Peak_to_mean_load_stays_within_the_measured_bound(string algorithm, int servers, double bound)
    {
        var owners = keys.Owners(Build(algorithm, KeySpace.Members(servers)));

        Assert.Equal(servers, owners.Distinct().Count());
        Assert.InRange(KeySpace.PeakToMean(owners, servers), 1.0, bound);
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void Adding_a_member_moves_about_its_fair_share_and_only_to_it(string algorithm, int servers)
    {
        var members = KeySpace.Members(servers);
        var before = keys.Owners(Build(algorithm, members));
        var newcomer = KeySpace.Members(1, servers + 1)[0];
        var after = keys.Owners(Build(algorithm, [.. members, newcomer]));

        var moved = KeySpace.Changed(before, after);
        var toOthers = Enumerable.Range(0, before.Length).Count(i => before[i] != after[i] && after[i] != newcomer.Name);
        var optimum = (double)KeySpace.Count / (servers + 1);

        // Ring (and bounded load without load) moves keys only to the newcomer (measured 0.95× / 1.05× / 1.05× the
        // optimum); Maglev also reshuffles a little between others, which takes it to 1.57× the optimum at N = 100.
        if (algorithm == MaglevAlgorithm.AlgorithmName)
        {
            Assert.InRange(toOthers, 0, KeySpace.Count * MaglevCollateral(servers));
            Assert.InRange(moved, 0, optimum * (servers == 100 ? 1.6 : 1.1));
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
    public void Removing_a_member_moves_its_keys_and_next_to_no_others(string algorithm, int servers)
    {
        var members = KeySpace.Members(servers);
        var before = keys.Owners(Build(algorithm, members));
        var leaving = members[servers / 2];
        var after = keys.Owners(Build(algorithm, members.Where(m => m != leaving)));

        Assert.DoesNotContain(leaving.Name, after);
        var others = KeySpace.Changed(before, after, except: leaving.Name);
        if (algorithm == MaglevAlgorithm.AlgorithmName)
        {
            // Maglev's permutations shift a little around the gap.
            Assert.InRange(others, 0, KeySpace.Count * MaglevCollateral(servers));
        }
        else
        {
            Assert.Equal(0, others);
        }
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void A_health_flip_moves_only_the_flipped_members_keys_and_they_come_back(string algorithm, int servers)
    {
        var members = KeySpace.Members(servers);
        var table = Build(algorithm, members);
        var before = keys.Owners(table);
        var flipped = members[servers / 2];

        flipped.SetUnavailable(UnavailableReasons.HealthProbe, true);
        var during = keys.Owners(table);
        flipped.SetUnavailable(UnavailableReasons.CircuitBreaker, true);
        flipped.SetUnavailable(UnavailableReasons.HealthProbe, false);
        Assert.Equal(during, keys.Owners(table));
        flipped.SetUnavailable(UnavailableReasons.CircuitBreaker, false);

        Assert.DoesNotContain(flipped.Name, during);
        Assert.Equal(0, KeySpace.Changed(before, during, except: flipped.Name));
        Assert.Equal(before.Count(o => o == flipped.Name), KeySpace.Changed(before, during));

        // Its keys spread over several members rather than piling onto one neighbour.
        var heirs = Enumerable.Range(0, before.Length).Where(i => before[i] == flipped.Name).Select(i => during[i]).Distinct().Count();
        Assert.InRange(heirs, Math.Min(2, servers - 1), servers - 1);

        Assert.Equal(before, keys.Owners(table));
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void The_mapping_does_not_depend_on_the_order_members_arrive_in(string algorithm, int servers)
    {
        var members = KeySpace.Members(servers);
        var shuffled = members.ToArray();
        new Random(servers).Shuffle(shuffled);

        Assert.Equal(keys.Owners(Build(algorithm, members)), keys.Owners(Build(algorithm, shuffled.Reverse())));

        // Fresh objects with the same names (another proxy instance) map identically too.
        Assert.Equal(keys.Owners(Build(algorithm, members)), keys.Owners(Build(algorithm, KeySpace.Members(servers))));
    }

    [Theory]
    [MemberData(nameof(Algorithms))]
    public void Pick_allocates_nothing(string algorithm, int servers)
    {
        var members = KeySpace.Members(servers);
        members[0].SetUnavailable(UnavailableReasons.HealthProbe, true);
        members[^1].BeginRequest();
        var table = Build(algorithm, members);
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
