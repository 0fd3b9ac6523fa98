using LoadBalancer.Experiments.Cli;
using LoadBalancer.Experiments.Load;
using LoadBalancer.Experiments.Reporting;
using LoadBalancer.Experiments.Runs;
using LoadBalancer.Experiments.Statistics;
using LoadBalancer.Measurement;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Experiments;

[Trait(TestCategories.Name, TestCategories.Unit)]
public sealed class ExperimentStatisticsTests
{
    [Fact]
    public void Distribution_of_the_seeds_measured_counts_has_peak_to_mean_2_53()
    {
        var distribution = new Distribution(new Dictionary<string, int> { ["server1"] = 8438, ["server2"] = 481, ["server3"] = 1081 });

        Assert.Equal(10_000, distribution.Total);
        Assert.Equal(10_000 / 3.0, distribution.Mean, 6);
        Assert.Equal(481, distribution.Min);
        Assert.Equal(8438, distribution.Max);
        Assert.Equal(2.5314, distribution.PeakToMean, 4);
        Assert.True(distribution.CoefficientOfVariation > 1.0);
    }

    [Fact]
    public void Distribution_counts_silent_servers_as_zero_and_orders_names_naturally()
    {
        var distribution = Distribution.FromAnswers(["server10", "server2", "server1"], ["server2", "server2", "server10", "server1"]);

        Assert.Equal(["server1", "server2", "server10"], distribution.Counts.Select(c => c.Key));
        Assert.Equal([1, 2, 1], distribution.Counts.Select(c => c.Value));

        var withSilent = Distribution.FromAnswers(["server1", "server2"], ["server1", "server1"]);
        Assert.Equal(0, withSilent.Min);
        Assert.Equal(2.0, withSilent.PeakToMean);
    }

    [Fact]
    public void Perfectly_even_distribution_has_peak_to_mean_one_and_no_variation()
    {
        var distribution = new Distribution(new Dictionary<string, int> { ["a"] = 5, ["b"] = 5 });

        Assert.Equal(1.0, distribution.PeakToMean);
        Assert.Equal(0.0, distribution.CoefficientOfVariation);
    }

    [Fact]
    public void Disruption_counts_keys_whose_owner_changed()
    {
        Assert.Equal(0.5, Disruption.MovedFraction(["a", "b", "a", "b"], ["a", "c", "a", "c"]));
        Assert.Equal(0.0, Disruption.MovedFraction([], []));
        Assert.Equal(0.25, Disruption.IdealOnJoin(3));
        Assert.Throws<ArgumentException>(() => Disruption.MovedFraction(["a"], ["a", "b"]));
    }

    [Fact]
    public void Disruption_can_leave_out_the_keys_a_leaver_owned()
    {
        // `quality`'s "moved on remove, not the leaver's": the keys b owned must move, only a→c and c→a count.
        Assert.Equal(1.0, Disruption.MovedFraction(["a", "b", "b", "c"], ["c", "c", "a", "a"], except: null));
        Assert.Equal(0.5, Disruption.MovedFraction(["a", "b", "b", "c"], ["c", "c", "a", "a"], except: "b"));
    }

    [Fact]
    public void Ring_sweep_on_the_proxys_own_table_moves_about_the_newcomers_share()
    {
        var ids = RequestIds.Create(10_000);
        var sweep = VariantSweep.Compute(new BalancingVariant("Ring", "XxHash3"), ids, 2, 6);

        Assert.Null(sweep.Error);
        Assert.Equal([2, 3, 4, 5, 6], sweep.Balance.Keys);
        Assert.All(sweep.Balance.Values, d => Assert.Equal(10_000, d.Total));
        Assert.All(sweep.Balance.Values, d => Assert.InRange(d.PeakToMean, 1.0, 1.35));

        // Consistent hashing: a join moves roughly the newcomer's share, never a reshuffle of everything.
        Assert.Equal([2, 3, 4, 5], sweep.MovedOnJoin.Keys);
        foreach (var (n, moved) in sweep.MovedOnJoin)
        {
            Assert.InRange(moved, Disruption.IdealOnJoin(n) * 0.6, Disruption.IdealOnJoin(n) * 1.4);
        }
    }

    [Fact]
    public void Unknown_variant_is_reported_not_thrown()
    {
        var sweep = VariantSweep.Compute(new BalancingVariant("NoSuchAlgorithm", "XxHash3"), RequestIds.Create(10), 2, 3);

        Assert.NotNull(sweep.Error);
        Assert.Contains("NoSuchAlgorithm", sweep.Error, StringComparison.Ordinal);
        Assert.Empty(sweep.Balance);
    }

    [Fact]
    public void Request_ids_are_six_digits_and_repeat_for_a_seed()
    {
        var ids = RequestIds.Create(1000, seed: 7);

        Assert.All(ids, id => Assert.Matches("^[1-9][0-9]{5}$", id));
        Assert.Equal(ids, RequestIds.Create(1000, seed: 7));
        Assert.NotEqual(ids, RequestIds.Create(1000, seed: 8));
    }

    [Fact]
    public void Outage_timeline_buckets_per_second_and_measures_detection_and_rejoin()
    {
        TimedAnswer[] answers =
        [
            new(0.1, "server1"), new(0.5, "server2"), new(1.2, "server2"),
            new(2.1, null), new(2.6, null), new(3.0, "server1"), new(4.4, "server1"),
            new(6.5, "server1"), new(7.25, "server2"),
        ];

        var timeline = new OutageTimeline(answers, ["server1", "server2"], "server2", stopIssued: 2.0, startIssued: 6.0);

        Assert.Equal(8, timeline.FailuresPerSecond.Length);
        Assert.Equal(2, timeline.FailuresPerSecond[2]);
        Assert.Equal([1, 0, 0, 1, 1, 0, 1, 0], timeline.PerServer["server1"]);
        Assert.Equal([1, 1, 0, 0, 0, 0, 0, 1], timeline.PerServer["server2"]);
        Assert.Equal(2, timeline.Failed);
        Assert.Equal(2, timeline.FailedDuringOutage);
        Assert.True(timeline.DetectedBeforeRestart);
        Assert.Equal(0.6, timeline.ClientsAffectedFor, 6);
        Assert.Equal(1.2, timeline.LastAnswerBeforeRestart, 6);
        Assert.Equal(1.25, timeline.RejoinAfter!.Value, 6);
    }

    [Fact]
    public void Outage_with_failures_until_the_restart_is_not_detected_and_no_rejoin_is_null()
    {
        TimedAnswer[] answers = [new(0.5, "server2"), new(1.5, null), new(4.8, null), new(5.5, "server1")];

        var timeline = new OutageTimeline(answers, ["server1", "server2"], "server2", stopIssued: 1.0, startIssued: 5.0);

        Assert.False(timeline.DetectedBeforeRestart);
        Assert.Null(timeline.RejoinAfter);
    }

    [Fact]
    public void Command_line_parses_commands_and_options_and_rejects_nonsense()
    {
        var all = CommandLine.Parse(["all", "--requests", "500", "--url", "http://127.0.0.1:5000"]);
        Assert.Equal(["a1", "a2", "a3", "a4"], all.Experiments);
        Assert.Equal(500, all.Requests);
        Assert.Equal(new Uri("http://127.0.0.1:5000"), all.Url);

        Assert.Equal(["a3"], CommandLine.Parse(["A3", "--a3-seconds", "30"]).Experiments);
        Assert.Throws<FormatException>(() => CommandLine.Parse([]));
        Assert.Throws<FormatException>(() => CommandLine.Parse(["a5"]));
        Assert.Throws<FormatException>(() => CommandLine.Parse(["a1", "--requests", "0"]));
        Assert.Throws<FormatException>(() => CommandLine.Parse(["a1", "--requests"]));
        Assert.Throws<FormatException>(() => CommandLine.Parse(["a1", "--bogus", "1"]));
    }

    [Fact]
    public async Task Url_launcher_accepts_only_loopback_and_skips_runs_that_need_the_apphost()
    {
        Assert.Throws<ArgumentException>(() => new LoadBalancer.Experiments.Systems.UrlSystemLauncher(new Uri("http://10.0.0.1:5000")));
        var launcher = new LoadBalancer.Experiments.Systems.UrlSystemLauncher(new Uri("http://127.0.0.1:5000"));

        await Assert.ThrowsAsync<LoadBalancer.Experiments.Systems.ExperimentSkippedException>(
            () => launcher.StartAsync(new LoadBalancer.Experiments.Systems.SystemSpec(3, "Maglev"), CancellationToken.None));
        await Assert.ThrowsAsync<LoadBalancer.Experiments.Systems.ExperimentSkippedException>(
            () => launcher.StartAsync(new LoadBalancer.Experiments.Systems.SystemSpec(5), CancellationToken.None));
        await using var system = await launcher.StartAsync(new LoadBalancer.Experiments.Systems.SystemSpec(3), CancellationToken.None);
        Assert.Equal(new Uri("http://127.0.0.1:5000"), system.ProxyAddress);
        Assert.False(system.CanControlServers);
    }

    [Fact]
    public void Results_document_replaces_one_section_and_keeps_the_others()
    {
        var path = Path.Combine(Directory.CreateTempSubdirectory("lb-results-").FullName, "RESULTS.md");
        try
        {
            ResultsDocument.Write(path, [new ExperimentReport("A-1", "## A-1\nfirst", []), new ExperimentReport("A-3", "## A-3\nthird", [])], "header one");
            ResultsDocument.Write(path, [new ExperimentReport("A-1", "## A-1\nagain", [])], "header two");

            var text = File.ReadAllText(path);
            var sections = ResultsDocument.ReadSections(text);
            Assert.Equal("## A-1\nagain", sections["A-1"]);
            Assert.Equal("## A-3\nthird", sections["A-3"]);
            Assert.Contains("header two", text, StringComparison.Ordinal);
            Assert.DoesNotContain("header one", text, StringComparison.Ordinal);
        }
        finally
        {
            Directory.Delete(Path.GetDirectoryName(path)!, recursive: true);
        }
    }
}
