using LoadBalancer.Experiments.Charts;
using LoadBalancer.Measurement;
using LoadBalancer.Experiments.Systems;
using static LoadBalancer.Experiments.Runs.Markdown;

namespace LoadBalancer.Experiments.Runs;

/// <summary>A-1: the configured number of requests on N = 3; requests per server as a bar chart, peak-to-mean in the text.</summary>
public static class ExperimentA1
{
    /// <summary>The section key.</summary>
    public const string Key = "A-1";

    /// <summary>Servers in A-1.</summary>
    public const int Servers = 3;

    /// <summary>The figures of one A-1 run.</summary>
    public sealed record Result(Distribution Distribution, Load.LoadResult Load, string Chart, ExperimentReport Report);

    /// <summary>Runs A-1 and writes <c>a1.png</c>.</summary>
    public static async Task<Result> RunAsync(ExperimentContext context, CancellationToken cancellationToken)
    {
        await using var system = await context.StartAsync(new SystemSpec(Servers), cancellationToken).ConfigureAwait(false);
        var load = await context.SendAsync(system, $"A-1: {N(context.Settings.Requests)} requests, N={Servers}", cancellationToken).ConfigureAwait(false);
        var distribution = Distribution.FromAnswers(system.Servers, load.AnsweredBy);
        var chart = context.Settings.ChartPath("a1.png");
        ChartWriter.RequestsPerServer(chart, $"A-1: {N(load.Outcomes.Count)} requests on N = {Servers} (Ring/XxHash3)", distribution);

        var markdown = $"""
            ## A-1: {N(context.Settings.Requests)} requests on N = {Servers}

            {Image("A-1: requests per server", chart)}

            {Table(["server", "requests", "share"], distribution.Counts.Select(c => (IReadOnlyList<string>)[c.Key, N(c.Value), Percent((double)c.Value / Math.Max(1, distribution.Total))]))}
            Peak-to-mean **{F(distribution.PeakToMean)}** (1.00 is perfectly even; the seed's quadratic hash gave 8438 / 481 / 1081, a peak-to-mean of 2.53),
            coefficient of variation {Percent(distribution.CoefficientOfVariation)}. Failed requests: {load.Failed} ({load.FailureSummary()}).
            {N(load.Outcomes.Count)} requests, {context.Settings.Concurrency} in flight, in {F(load.Elapsed.TotalSeconds, "0.0")} s.

            """;
        return new Result(distribution, load, chart, new ExperimentReport(Key, markdown, [chart]));
    }
}
