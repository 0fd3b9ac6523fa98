using LoadBalancer.Experiments.Load;
using LoadBalancer.Experiments.Systems;

namespace LoadBalancer.Experiments.Runs;

/// <summary>What every experiment needs: its settings, a way to start systems, and progress reporting.</summary>
public sealed class ExperimentContext(ExperimentSettings settings, ISystemLauncher launcher, IExperimentProgress progress)
{
    /// <summary>Sizes and output folders.</summary>
    public ExperimentSettings Settings { get; } = settings;

    /// <summary>Starts the systems runs measure.</summary>
    public ISystemLauncher Launcher { get; } = launcher;

    /// <summary>Progress and notes.</summary>
    public IExperimentProgress Progress { get; } = progress;

    /// <summary>Sends <see cref="ExperimentSettings.Requests"/> requests to <paramref name="system"/> with a progress bar.</summary>
    public Task<LoadResult> SendAsync(ISystemUnderTest system, string description, CancellationToken cancellationToken) =>
        SendAsync(system, description, new LoadOptions
        {
            Requests = Settings.Requests,
            Concurrency = Settings.Concurrency,
            TimeLimit = Settings.TimeLimit,
        }, cancellationToken);

    /// <summary>Sends the burst <paramref name="options"/> describes to <paramref name="system"/> with a progress bar.</summary>
    public async Task<LoadResult> SendAsync(
        ISystemUnderTest system, string description, LoadOptions options, CancellationToken cancellationToken, System.Diagnostics.Stopwatch? clock = null)
    {
        var step = Progress.Start(description, options.Requests);
        using var client = LoadGenerator.CreateClient(system.ProxyAddress, options.Concurrency);
        var result = await LoadGenerator.RunAsync(client, options, _ => step.Advance(), cancellationToken, clock).ConfigureAwait(false);
        step.Complete();
        if (result.CutShort)
        {
            Progress.Note($"{description}: the time limit ({options.TimeLimit.TotalSeconds:0} s) stopped the run after {result.Outcomes.Count} of {result.Planned} requests.");
        }

        return result;
    }

    /// <summary>Starts a system for <paramref name="spec"/> with a step shown while it starts.</summary>
    public async Task<ISystemUnderTest> StartAsync(SystemSpec spec, CancellationToken cancellationToken)
    {
        var step = Progress.Start($"starting {spec}", 1);
        try
        {
            return await Launcher.StartAsync(spec, cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            step.Advance();
            step.Complete();
        }
    }
}

/// <summary>What an experiment produced: its section of RESULTS.md and the charts it wrote.</summary>
/// <param name="Key">The section key: <c>A-1</c> … <c>A-4</c>.</param>
/// <param name="Markdown">The section's Markdown, heading included.</param>
/// <param name="Charts">Paths of the PNG files written.</param>
public sealed record ExperimentReport(string Key, string Markdown, IReadOnlyList<string> Charts);
