using LoadBalancer.Experiments.Reporting;
using LoadBalancer.Experiments.Statistics;
using LoadBalancer.Experiments.Systems;

namespace LoadBalancer.Experiments.Runs;

/// <summary>Runs the chosen experiments one after another and writes RESULTS.md with what they produced.</summary>
public static class ExperimentSuite
{
    /// <summary>The outcome: reports written and experiments that could not run, with why.</summary>
    public sealed record Outcome(IReadOnlyList<ExperimentReport> Reports, IReadOnlyList<string> Failures);

    /// <summary>Runs <paramref name="experiments"/> (a1..a4) in order; a failed one is reported and the rest still run.</summary>
    public static async Task<Outcome> RunAsync(ExperimentContext context, IReadOnlyList<string> experiments, TimeProvider time, CancellationToken cancellationToken)
    {
        var reports = new List<ExperimentReport>();
        var failures = new List<string>();
        foreach (var experiment in experiments)
        {
            try
            {
                reports.Add(experiment switch
                {
                    "a1" => (await ExperimentA1.RunAsync(context, cancellationToken).ConfigureAwait(false)).Report,
                    "a2" => await ExperimentA2.RunAsync(context, cancellationToken).ConfigureAwait(false),
                    "a3" => (await ExperimentA3.RunAsync(context, cancellationToken).ConfigureAwait(false)).Report,
                    "a4" => await ExperimentA4.RunAsync(context, BalancingVariant.A4, cancellationToken).ConfigureAwait(false),
                    _ => throw new ArgumentException($"Unknown experiment '{experiment}'.", nameof(experiments)),
                });
            }
            catch (Exception ex) when (ex is ExperimentSkippedException or SystemStartException or InvalidOperationException or HttpRequestException)
            {
                failures.Add($"{experiment}: {ex.Message}");
                context.Progress.Note($"{experiment} did not run: {ex.Message}");
            }
        }

        if (reports.Count > 0)
        {
            ResultsDocument.Write(
                Path.Combine(context.Settings.DocsDirectory, ResultsDocument.FileName),
                reports,
                ResultsDocument.Header(context.Settings, context.Launcher.Description, time));
        }

        return new Outcome(reports, failures);
    }
}
