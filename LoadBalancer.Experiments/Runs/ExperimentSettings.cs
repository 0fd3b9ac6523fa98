using System.ComponentModel.DataAnnotations;

namespace LoadBalancer.Experiments.Runs;

/// <summary>How big the runs are and where their output goes.</summary>
public sealed record ExperimentSettings
{
    /// <summary>Requests per measurement (A-1, each N of A-2, each variant of A-4). The seed used 10,000.</summary>
    [Range(1, 1_000_000)]
    public int Requests { get; init; } = 10_000;

    /// <summary>Requests in flight at once.</summary>
    [Range(1, 512)]
    public int Concurrency { get; init; } = 32;

    /// <summary>Upper bound on one burst of requests.</summary>
    public TimeSpan TimeLimit { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>A-3: length of the run.</summary>
    public TimeSpan OutageRunLength { get; init; } = TimeSpan.FromSeconds(45);

    /// <summary>A-3: requests per second, paced so the timeline is readable.</summary>
    [Range(1, 100_000)]
    public double OutageRate { get; init; } = 200;

    /// <summary>The folder <c>RESULTS.md</c> is written to (the repository's <c>docs</c>).</summary>
    public required string DocsDirectory { get; init; }

    /// <summary>The folder for charts: <c>images</c> under <see cref="DocsDirectory"/>.</summary>
    public string ImagesDirectory => Path.Combine(DocsDirectory, "images");

    /// <summary>The path of chart <paramref name="name"/> (e.g. <c>a1.png</c>).</summary>
    public string ChartPath(string name) => Path.Combine(ImagesDirectory, name);
}
