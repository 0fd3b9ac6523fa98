using LoadBalancer.Experiments.Charts;
using LoadBalancer.Experiments.Load;
using LoadBalancer.Experiments.Statistics;
using LoadBalancer.Measurement;
using LoadBalancer.Experiments.Systems;
using static LoadBalancer.Experiments.Runs.Markdown;

namespace LoadBalancer.Experiments.Runs;

/// <summary>
/// the seed's quadratic hash (<c>Assignment</c>) against our hashes and algorithms. Distribution for N = 3
/// measured end to end (one AppHost per variant), balance and disruption for N = 2..6 on the proxy's own tables.
/// </summary>
public static class ExperimentA4
{
    /// <summary>The section key.</summary>
    public const string Key = "A-4";

    /// <summary>
    /// Runs A-4 over <paramref name="variants"/> and writes <c>a4-distribution.png</c>. Balance and disruption on the
    /// tables get tables only: their charts are <c>quality</c>'s (docs/hashing.md), drawn from the same computation.
    /// </summary>
    public static async Task<ExperimentReport> RunAsync(ExperimentContext context, IReadOnlyList<BalancingVariant> variants, CancellationToken cancellationToken)
    {
        var settings = context.Settings;
        var distributions = new List<(string Label, Distribution Distribution)>();
        var rows = new List<IReadOnlyList<string>>();
        foreach (var variant in variants)
        {
            // A name this build does not know is reported, not fatal: other variants still run.
            if (!variant.TryCreate(out _, out var unknown))
            {
                context.Progress.Note($"A-4 {variant.Label}: not available in this build ({unknown})");
                rows.Add([variant.Label, "–", "–", "–", $"not available: {unknown}"]);
                continue;
            }

            try
            {
                await using var system = await context.StartAsync(new SystemSpec(3, variant.Algorithm, variant.HashFunction), cancellationToken).ConfigureAwait(false);
                var load = await context.SendAsync(system, $"A-4: {variant.Label}, N=3", cancellationToken).ConfigureAwait(false);
                var distribution = Distribution.FromAnswers(system.Servers, load.AnsweredBy);
                distributions.Add((variant.Label, distribution));
                rows.Add([variant.Label, string.Join(" / ", distribution.Counts.Select(c => N(c.Value))), F(distribution.PeakToMean), Percent(distribution.CoefficientOfVariation), $"{load.Failed} failed"]);
            }
            catch (Exception ex) when (ex is SystemStartException or ExperimentSkippedException)
            {
                context.Progress.Note($"A-4 {variant.Label}: {ex.Message}");
                rows.Add([variant.Label, "–", "–", "–", ex.Message]);
            }
        }

        var charts = new List<string>();
        var distributionChart = settings.ChartPath("a4-distribution.png");
        if (distributions.Count > 0)
        {
            ChartWriter.GroupedRequestsPerServer(distributionChart, $"A-4: {N(settings.Requests)} requests on N = 3 per variant (end to end)", distributions);
            charts.Add(distributionChart);
        }

        // Balance and disruption are properties of the tables: computed in process on the proxy's own code, same ids.
        var ids = RequestIds.Create(settings.Requests);
        var sweeps = variants.Select(v => VariantSweep.Compute(v, ids, 2, 6)).ToArray();

        var ns = Enumerable.Range(2, 5).ToArray();
        var markdown = $"""
            ## A-4: the seed's hash against ours, and the other algorithms

            `Assignment` is the seed's H(i) = i² + 2i + 17 and Φ(i, j) = i² + j² + 2j + 25 over 512 slots; `XxHash3` is our default.

            ### Distribution on N = 3 ({N(settings.Requests)} requests each, end to end)

            {(distributions.Count > 0 ? Image("A-4: requests per server for each variant", distributionChart) : "_No variant could be measured end to end._")}

            {Table(["variant", "requests per server", "peak-to-mean", "coefficient of variation", "notes"], rows)}
            ### Balance and disruption for N = 2..6 (the proxy's own tables, same {N(ids.Length)} ids)

            `quality` charts the same two properties with the same code for every algorithm × hash function at N = 3, 10
            and 100 over 1,000,000 keys ([hashing.md](hashing.md#measured-quality); there `BoundedLoad`'s balance is
            measured under simulated load):

            ![peak-to-mean keys per member, per scheme](images/hashing-balance.png)

            ![keys moved when a member joins, × the optimum 1/(N+1)](images/hashing-disruption-add.png)

            Peak-to-mean:

            {Table(["variant", .. ns.Select(n => $"N={n}")], sweeps.Select(s => (IReadOnlyList<string>)[s.Variant.Label, .. ns.Select(n => s.Balance.TryGetValue(n, out var d) ? F(d.PeakToMean) : "–")]))}
            Share of keys moved when server N+1 joins N servers (ideal: only the newcomer's share, 1/(N+1)). Fewer is not
            better: it means the newcomer took less than its share (compare its peak-to-mean above).

            {Table(["variant", .. ns[..^1].Select(n => $"{n}→{n + 1}")], [
                ["ideal", .. ns[..^1].Select(n => Percent(Disruption.IdealOnJoin(n)))],
                .. sweeps.Select(s => (IReadOnlyList<string>)[s.Variant.Label, .. ns[..^1].Select(n => s.MovedOnJoin.TryGetValue(n, out var m) ? Percent(m) : "–")])])}
            {string.Join("\n", sweeps.Where(s => s.Error is not null).Select(s => $"- {s.Variant.Label}: not available in this build ({s.Error})."))}

            `BoundedLoad` caps a server at c × the mean of requests *in flight*; on tables without live load (the sweep above)
            it picks like the ring it is built on, so its balance shows only in the end-to-end run.

            """;
        return new ExperimentReport(Key, markdown, charts);
    }
}
