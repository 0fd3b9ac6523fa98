using System.Globalization;
using System.Text;
using LoadBalancer.Measurement;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Hashing;

namespace LoadBalancer.Benchmarks.Quality;

/// <summary>What one bounded-load probe did with one skewed key stream.</summary>
internal sealed record ProbeFigures(
    int VirtualNodes,
    BoundedLoadProbe Probe,
    double PeakInFlightToMean,
    double BoundToMean,
    int BoundViolations,
    double Spilled,
    double Cascaded,
    double HotOverflowTopReceiver,
    int HotOverflowReceivers,
    double[] Shares);

/// <summary>
/// The <c>bounded-load</c> command: a deterministic simulation of Zipf-distributed keys over bounded-load tables
/// whose requests hold their server for a while, comparing where each <see cref="BoundedLoadProbe"/> sends the
/// overflow; prints a Markdown report (bench/results/bounded-load.md quotes it).
/// </summary>
/// <remarks>
/// One arrival per tick; each request holds its slot for an exponential time of mean <see cref="MeanHold"/> ticks, so
/// about <see cref="MeanHold"/> requests are in flight (<see cref="MeanHold"/> ÷ N per server). Keys are ranks 1…K
/// of a Zipf law, mapped to random distinct numeric ids; everything is seeded, so runs repeat exactly.
/// </remarks>
internal static class BoundedLoadSimulation
{
    private const int Servers = 10;
    private const int DistinctKeys = 10_000;
    private const double ZipfExponent = 1.1;
    private const int MeanHold = 200;
    private const int Requests = 1_000_000;
    private static readonly int[] VirtualNodeCounts = [1000, 100, 16];
    private static readonly CultureInfo Invariant = CultureInfo.InvariantCulture;

    public static int Run(string[] args)
    {
        _ = args;
        var hash = new XxHash3Function();
        var ids = QualityReport.NumericKeys(DistinctKeys, seed: 1811);
        var hashes = Array.ConvertAll(ids, id => hash.HashKey(id));
        var stream = ZipfStream(Requests, DistinctKeys, ZipfExponent, seed: 18);
        var holds = Holds(Requests, MeanHold, seed: 5);
        var results = new List<ProbeFigures>();
        foreach (var nodes in VirtualNodeCounts)
        {
            foreach (var probe in Enum.GetValues<BoundedLoadProbe>())
            {
                results.Add(Simulate(hash, nodes, probe, hashes, stream, holds));
            }
        }

        Console.Write(Render(results, TopShare(DistinctKeys, ZipfExponent)));
        return 0;
    }

    private static ProbeFigures Simulate(IHashFunction hash, int nodes, BoundedLoadProbe probe, ulong[] hashes, int[] stream, int[] holds)
    {
        var servers = Scheme.Members(Servers);
        var table = BoundedLoadTable.Create(servers, hash, nodes, BoundedLoadTable.DefaultBalanceFactor, probe);
        var ring = HashRing.Create(servers, hash, nodes);
        var c = table.BalanceFactor;

        // Each key's home (the ring's server), and the hottest home: the one with the most demand.
        var homes = Array.ConvertAll(hashes, h => ring.Pick(h, []));
        var demand = new long[Servers];
        foreach (var key in stream)
        {
            demand[homes[key]]++;
        }

        var hottest = Array.IndexOf(demand, demand.Max());

        var finishing = new PriorityQueue<(int Server, bool Foreign), long>();
        var foreign = new int[Servers];
        var served = new long[Servers];
        var fromHottest = new long[Servers];
        long total = 0, spilled = 0, cascaded = 0;
        var violations = 0;
        var peak = 0.0;
        for (var t = 0; t < stream.Length; t++)
        {
            while (finishing.TryPeek(out var done, out var end) && end <= t)
            {
                finishing.Dequeue();
                servers[done.Server].EndRequest(served: true);
                if (done.Foreign)
                {
                    foreign[done.Server]--;
                }

                total--;
            }

            var key = stream[t];
            var home = homes[key];
            var index = table.Pick(hashes[key], []);
            var moved = index != home;
            if (moved)
            {
                spilled++;
                // A cascade: the key's own server is full while holding requests that overflowed to it from others.
                if (foreign[home] > 0)
                {
                    cascaded++;
                }

                if (home == hottest)
                {
                    fromHottest[index]++;
                }

                foreign[index]++;
            }

            servers[index].BeginRequest();
            served[index]++;
            total++;
            finishing.Enqueue((index, moved), t + holds[t]);
            if (t < MeanHold * 5)
            {
                continue; // warming up: with few requests in flight any ratio to the mean is noise
            }

            var load = servers[index].InFlight;
            if (load > Math.Ceiling(c * total / Servers))
            {
                violations++;
            }

            peak = Math.Max(peak, load / ((double)total / Servers));
        }

        var hotOverflow = fromHottest.Sum();
        return new ProbeFigures(
            nodes,
            probe,
            peak,
            Math.Ceiling(c * MeanHold / Servers) / ((double)MeanHold / Servers),
            violations,
            (double)spilled / stream.Length,
            spilled == 0 ? 0 : (double)cascaded / spilled,
            hotOverflow == 0 ? 0 : (double)fromHottest.Max() / hotOverflow,
            fromHottest.Count(n => n > 0),
            Array.ConvertAll(served, s => (double)s / stream.Length));
    }

    /// <summary>Ranks 0…K−1 drawn with probability ∝ 1 / (rank + 1)^s (inverse CDF, seeded).</summary>
    internal static int[] ZipfStream(int count, int keys, double s, int seed)
    {
        var cdf = new double[keys];
        var sum = 0.0;
        for (var k = 0; k < keys; k++)
        {
            sum += 1 / Math.Pow(k + 1, s);
            cdf[k] = sum;
        }

        var random = new Random(seed);
        var stream = new int[count];
        for (var i = 0; i < count; i++)
        {
            var index = Array.BinarySearch(cdf, random.NextDouble() * sum);
            stream[i] = Math.Min(index < 0 ? ~index : index, keys - 1);
        }

        return stream;
    }

    private static double TopShare(int keys, double s)
    {
        var sum = 0.0;
        for (var k = 1; k <= keys; k++)
        {
            sum += 1 / Math.Pow(k, s);
        }

        return 1 / sum;
    }

    private static int[] Holds(int count, int mean, int seed)
    {
        var random = new Random(seed);
        return Enumerable.Range(0, count).Select(_ => 1 + (int)(-Math.Log(1 - random.NextDouble()) * (mean - 1))).ToArray();
    }

    private static string Render(List<ProbeFigures> results, double topShare)
    {
        var md = new StringBuilder();
        md.AppendLine(Invariant, $"Simulated by `bounded-load`: {Requests:N0} requests over {DistinctKeys:N0} distinct ids, Zipf s = {ZipfExponent} (the top id is {topShare:P1} of requests),");
        md.AppendLine(Invariant, $"{Servers} servers, c = {BoundedLoadTable.DefaultBalanceFactor}, one arrival per tick, each request held for an exponential time of mean {MeanHold} ticks");
        md.AppendLine(Invariant, $"(≈ {MeanHold / Servers} in flight per server). Seeded: every run gives the same figures.");
        md.AppendLine();
        md.AppendLine("| virtual nodes | probe | peak in flight ÷ mean (bound ⌈c × mean⌉ ÷ mean) | picks above the bound | requests off their key's server | of those, cascaded | hottest server's overflow: share on its top receiver / receivers | share per server (min–max) |");
        md.AppendLine("|---:|---|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            md.AppendLine(Invariant, $"| {r.VirtualNodes} | {r.Probe} | {r.PeakInFlightToMean:0.00} ({r.BoundToMean:0.00}) | {r.BoundViolations} | {r.Spilled:P2} | {r.Cascaded:P1} | {r.HotOverflowTopReceiver:P1} / {r.HotOverflowReceivers} | {r.Shares.Min():P1}–{r.Shares.Max():P1} |");
        }

        md.AppendLine();
        md.AppendLine("Share per server, in server order:");
        md.AppendLine();
        md.AppendLine("| virtual nodes | probe | " + string.Join(" | ", Enumerable.Range(1, Servers).Select(i => $"server{i}")) + " |");
        md.AppendLine("|---:|---|" + string.Concat(Enumerable.Repeat("---:|", Servers)));
        foreach (var r in results)
        {
            var shares = string.Join(" | ", r.Shares.Select(s => s.ToString("P1", Invariant)));
            md.AppendLine(Invariant, $"| {r.VirtualNodes} | {r.Probe} | {shares} |");
        }

        return md.ToString();
    }
}
