using LoadBalancer.Experiments.Reporting;
using LoadBalancer.Experiments.Runs;
using LoadBalancer.Experiments.Systems;
using LoadBalancer.Tests.EndToEnd;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Experiments;

/// <summary>
/// A short run of the experiments tool end to end: it starts the real AppHost itself (N = 3), sends 500 requests
/// and writes its chart and RESULTS.md into a temporary folder.
/// </summary>
[Collection(EndToEndCollection.Name)]
[Trait(TestCategories.Name, TestCategories.EndToEnd)]
public sealed class ExperimentSmokeTests : IDisposable
{
    private const int Requests = 500;

    private readonly string _docs = Directory.CreateTempSubdirectory("lb-experiments-").FullName;

    [Fact]
    public async Task A1_with_500_requests_reaches_every_server_and_writes_chart_and_results()
    {
        using var cts = new CancellationTokenSource(TimeSpan.FromMinutes(6));
        var progress = new SilentProgress();
        var settings = new ExperimentSettings { Requests = Requests, Concurrency = 16, DocsDirectory = _docs };
        var context = new ExperimentContext(settings, new AspireSystemLauncher(AspireSystemLauncher.DefaultStartTimeout), progress);

        var outcome = await ExperimentSuite.RunAsync(context, ["a1"], TimeProvider.System, cts.Token);

        Assert.Empty(outcome.Failures);
        var report = Assert.Single(outcome.Reports);
        Assert.Equal(ExperimentA1.Key, report.Key);

        // Every request was answered, by one of the three servers, and the counts add up.
        var results = File.ReadAllText(Path.Combine(_docs, ResultsDocument.FileName));
        var section = ResultsDocument.ReadSections(results)[ExperimentA1.Key];
        var counts = new Dictionary<string, int>();
        foreach (var server in new[] { "server1", "server2", "server3" })
        {
            var row = section.Split('\n').Single(line => line.StartsWith($"| {server} |", StringComparison.Ordinal));
            counts[server] = int.Parse(row.Split('|')[2].Trim().Replace(",", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture);
        }

        Assert.All(counts.Values, count => Assert.InRange(count, 1, Requests - 2));
        Assert.Equal(Requests, counts.Values.Sum());
        Assert.Contains("Failed requests: 0 (none)", section, StringComparison.Ordinal);
        Assert.Contains("![A-1: requests per server](images/a1.png)", section, StringComparison.Ordinal);

        // The chart is a real PNG of some size.
        var chart = Assert.Single(report.Charts);
        Assert.Equal(Path.Combine(_docs, "images", "a1.png"), chart);
        var bytes = File.ReadAllBytes(chart);
        Assert.True(bytes.Length > 5_000, $"a1.png is only {bytes.Length} bytes");
        Assert.Equal(new byte[] { 0x89, (byte)'P', (byte)'N', (byte)'G' }, bytes[..4]);
        Assert.Empty(progress.Notes);
    }

    public void Dispose() => Directory.Delete(_docs, recursive: true);
}
