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
    double HotOverflowTopReceiver,
    int HotOverflowReceivers,
    double HotOverflowOnNeighbour,
    double NeighbourPushedOff,
    double OthersPushedOff,
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
    private static readonly int[] VirtualNodeCounts = [1000, 100, 16, 1];
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
        var members = Scheme.Members(Servers);
        var table = BoundedLoadTable.Create(members, hash, nodes, BoundedLoadTable.DefaultBalanceFactor, probe);
        var ring = HashRing.Create(members, hash, nodes);

        // Pick returns indices into the table's servers, which are sorted by name (server10 before server2).
        var servers = table.Servers;
        var c = table.BalanceFactor;

        // Each key's home (the ring's server), and the hottest home: the one with the most demand.
        var homes = Array.ConvertAll(hashes, h => ring.Pick(h, []));
        var demand = new long[Servers];
        foreach (var key in stream)
        {
            demand[homes[key]]++;
        }

        var hottest = Array.IndexOf(demand, demand.Max());

        // Its clockwise neighbour: the server owning most of the points right after the hottest server's points.
        var points = ring.Points;
        var following = new int[Servers];
        for (var p = 0; p < points.Count; p++)
        {
            var next = points[(p + 1) % points.Count].Server;
            if (points[p].Server == hottest && next != hottest)
            {
                following[next]++;
            }
        }

        var neighbour = Array.IndexOf(following, following.Max());
        var pushedOff = new long[Servers];

        var finishing = new PriorityQueue<int, long>();
        var served = new long[Servers];
        var fromHottest = new long[Servers];
        long total = 0, spilled = 0;
        var violations = 0;
        var peak = 0.0;
        for (var t = 0; t < stream.Length; t++)
        {
            while (finishing.TryPeek(out var done, out var end) && end <= t)
            {
                finishing.Dequeue();
                servers[done].EndRequest(served: true);
                total--;
            }

            var key = stream[t];
            var home = homes[key];
            var index = table.Pick(hashes[key], []);
            var moved = index != home;
            if (moved)
            {
                spilled++;
                pushedOff[home]++;

                if (home == hottest)
                {
                    fromHottest[index]++;
                }
            }

            servers[index].BeginRequest();
            served[index]++;
            total++;
            finishing.Enqueue(index, t + holds[t]);
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
            hotOverflow == 0 ? 0 : (double)fromHottest.Max() / hotOverflow,
            fromHottest.Count(n => n > 0),
            hotOverflow == 0 ? 0 : (double)fromHottest[neighbour] / hotOverflow,
            demand[neighbour] == 0 ? 0 : (double)pushedOff[neighbour] / demand[neighbour],
            (double)Enumerable.Range(0, Servers).Where(i => i != hottest && i != neighbour).Sum(i => pushedOff[i])
                / Math.Max(1, Enumerable.Range(0, Servers).Where(i => i != hottest && i != neighbour).Sum(i => demand[i])),
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
        md.AppendLine("| virtual nodes | probe | peak in flight ÷ mean (bound ⌈c × mean⌉ ÷ mean) | picks above the bound | requests off their key's server | hottest server's overflow: on its top receiver / servers receiving | of it, on its clockwise neighbour | neighbour's own requests pushed off (others') | share per server (min–max) |");
        md.AppendLine("|---:|---|---:|---:|---:|---:|---:|---:|---:|");
        foreach (var r in results)
        {
            md.AppendLine(Invariant, $"| {r.VirtualNodes} | {r.Probe} | {r.PeakInFlightToMean:0.00} ({r.BoundToMean:0.00}) | {r.BoundViolations} | {r.Spilled:P2} | {r.HotOverflowTopReceiver:P1} / {r.HotOverflowReceivers} | {r.HotOverflowOnNeighbour:P1} | {r.NeighbourPushedOff:P1} ({r.OthersPushedOff:P1}) | {r.Shares.Min():P1}–{r.Shares.Max():P1} |");
        }

        md.AppendLine();
        md.AppendLine("Share per server, in table order (by name):");
        md.AppendLine();
        md.AppendLine("| virtual nodes | probe | " + string.Join(" | ", Scheme.Members(Servers).Select(m => m.Name).Order(StringComparer.Ordinal)) + " |");
        md.AppendLine("|---:|---|" + string.Concat(Enumerable.Repeat("---:|", Servers)));
        foreach (var r in results)
        {
            var shares = string.Join(" | ", r.Shares.Select(s => s.ToString("P1", Invariant)));
            md.AppendLine(Invariant, $"| {r.VirtualNodes} | {r.Probe} | {shares} |");
        }

        return md.ToString();
    }
}
