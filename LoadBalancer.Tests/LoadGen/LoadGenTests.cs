using System.Diagnostics;
using System.Text;
using LoadBalancer.LoadGen;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.LoadGen;

/// <summary>The open-loop generator's pieces that decide its figures: the Zipf draw, who answered, and the checks.</summary>
[Trait(TestCategories.Name, TestCategories.Unit)]
public sealed class LoadGenTests
{
    [Fact]
    public void Zipf_draws_follow_one_over_rank_to_the_s_from_a_seed()
    {
        var keys = new ZipfKeys(1000, 1.1, seed: 7);
        var again = new ZipfKeys(1000, 1.1, seed: 7);
        var counts = new int[keys.Count];
        const int Draws = 200_000;
        for (var i = 0; i < Draws; i++)
        {
            var rank = keys.NextRank();
            Assert.Equal(rank, again.NextRank());
            counts[rank]++;
        }

        // p(k) ∝ 1/k^s: rank 1 is 2^1.1 ≈ 2.14 times as likely as rank 2, 10^1.1 ≈ 12.6 times rank 10.
        var harmonic = Enumerable.Range(1, 1000).Sum(k => 1 / Math.Pow(k, 1.1));
        Assert.Equal(1 / harmonic, keys.ShareOf(0), 6);
        Assert.InRange(counts[0] / (double)Draws, 1 / harmonic - 0.005, 1 / harmonic + 0.005);
        Assert.InRange(counts[0] / (double)counts[1], 2.14 * 0.93, 2.14 * 1.07);
        Assert.InRange(counts[0] / (double)counts[9], 12.6 * 0.85, 12.6 * 1.15);
        Assert.Equal(1000, Enumerable.Range(0, 1000).Select(keys.IdOf).Distinct().Count(id => id.Length == 6));
    }

    [Theory]
    [InlineData("X-Upstream-Server", "server2", """{"message":"Hello from Server: 2","status":"successful"}""", "server2")]
    [InlineData("X-Server-Id", "server3", """{"message":"Server server3 is at capacity","status":"failure"}""", "server3")]
    [InlineData(null, null, """{"message":"Hello from Server: server1","status":"successful"}""", "server1")]
    [InlineData(null, null, """{"message":"no server","status":"failure"}""", null)]
    public void The_server_that_answered_comes_from_the_proxys_header_then_the_servers_then_the_body(string? header, string? value, string body, string? expected)
    {
        using var response = new HttpResponseMessage(HttpStatusCode.OK);
        if (header is not null)
        {
            response.Headers.Add(header, value);
        }

        Assert.Equal(expected, OpenLoopRun.ServerOf(response, Encoding.UTF8.GetBytes(body)));
    }

    [Fact]
    public void The_bounded_load_check_counts_a_send_whose_server_holds_more_than_c_times_the_mean()
    {
        // Three servers, c = 1.25. Server 0 gets four overlapping requests while servers 1 and 2 get one each:
        // at the fourth send 6 are in flight, ⌈1.25 × 6 / 3⌉ = 3, and server 0 holds 4.
        var t = (long)(Stopwatch.Frequency / 1000); // a millisecond in ticks
        RequestRecord At(long sent, long done, short server) => new(sent * t, sent * t, done * t, server, 200);
        RequestRecord[] records =
        [
            At(0, 100, 1), At(1, 100, 2), At(2, 100, 0), At(3, 100, 0), At(4, 100, 0), At(5, 100, 0),
            At(200, 210, 0), // alone later: within any bound
        ];

        var check = BoundedLoadCheck.Of(records, firstMeasured: 0, serverNames: 3, servers: 3, c: 1.25);

        Assert.Equal(7, check.Checked);
        Assert.Equal(1, check.OverBound);
        Assert.Equal(1, check.MaxOverBound);
        Assert.Equal([4, 1, 1], check.MaxInFlightByServer);
    }

    [Fact]
    public void Latency_counts_from_the_scheduled_send_so_a_late_send_is_not_hidden()
    {
        var t = (long)(Stopwatch.Frequency / 1000);
        var settings = new LoadSettings { Url = new Uri("http://127.0.0.1:1"), Rate = 2, Duration = 1, Warmup = 0 };
        // Due at 0 and 500 ms; the second went out 300 ms late and took 10 ms once sent.
        RequestRecord[] records = [new(0, 0, 10 * t, 0, 200), new(500 * t, 800 * t, 810 * t, 0, 200)];

        var summary = RunSummary.Of(settings, new ZipfKeys(10, 1, 1), records, 0, ["server1"], 2);

        Assert.Equal(310, summary.LatencyMs.Max, 3);
        Assert.Equal(300, summary.SendLagMs.Max, 3);
        Assert.Equal(2, summary.ThroughputRps);
    }

    [Fact]
    public void Requests_delayed_over_the_slow_threshold_are_counted_whatever_their_outcome_overall_and_per_second()
    {
        var t = (long)(Stopwatch.Frequency / 1000);
        var settings = new LoadSettings { Url = new Uri("http://127.0.0.1:1"), Rate = 2, Duration = 2, Warmup = 0, SlowMs = 1000 };
        RequestRecord[] records =
        [
            new(0, 0, 10 * t, 0, 200), // fast
            new(500 * t, 500 * t, 2000 * t, 0, 200), // 1.5 s, answered: delayed
            new(1000 * t, 1000 * t, 2200 * t, 0, 502), // 1.2 s, failed: delayed too
            new(1500 * t, 1500 * t, 1500 * t, RequestRecord.NoServer, RequestRecord.GeneratorLimit), // never sent
        ];

        var summary = RunSummary.Of(settings, new ZipfKeys(10, 1, 1), records, 0, ["server1"], 2, startedUnixMs: 42);

        Assert.Equal(new SlowCount(1000, 2, 1), summary.Slow);
        Assert.Equal([1, 1], summary.Seconds.Select(s => s.Slow));
        Assert.Equal([1500, 1200], summary.Seconds.Select(s => s.MaxMs));
        Assert.Equal(2, summary.Seconds[0].Servers["server1"]);
        Assert.Empty(summary.Seconds[1].Servers); // a 502 and a request never sent: no 200 from anyone
        Assert.Equal(42, summary.StartedUnixMs);
    }

    [Fact]
    public void The_slow_threshold_and_the_started_file_are_read_from_the_command_line()
    {
        var settings = LoadSettings.Parse(["--url", "http://127.0.0.1:1", "--slow-ms", "250", "--started", "/tmp/started"]);

        Assert.Equal(250, settings.SlowMs);
        Assert.Equal("/tmp/started", settings.StartedFile);
        Assert.Equal(1000, LoadSettings.Parse(["--url", "http://127.0.0.1:1"]).SlowMs);
        Assert.Throws<ArgumentException>(() => LoadSettings.Parse(["--url", "http://127.0.0.1:1", "--slow-ms", "-1"]));
    }

    [Fact]
    public async Task The_started_file_holds_the_instant_the_clock_started_and_every_request_can_be_written_out()
    {
        var file = Path.Combine(Path.GetTempPath(), $"loadgen-started-{Guid.NewGuid():N}");
        try
        {
            // Port 1 refuses at once: the requests fail fast, which does not matter here.
            var settings = new LoadSettings { Url = new Uri("http://127.0.0.1:1"), Rate = 20, Duration = 0.2, Warmup = 0, Prewarm = 0, Timeout = 2, StartedFile = file };
            var before = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();
            var run = new OpenLoopRun(settings, new ZipfKeys(10, 1, 1));

            await run.RunAsync().WaitAsync(TimeSpan.FromSeconds(30));

            var written = long.Parse(await File.ReadAllTextAsync(file), System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(run.StartedUnixMs, written);
            using var csv = new StringWriter();
            run.WriteRecords(csv);
            var lines = csv.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal("index,measured,path,due_ms,sent_ms,done_ms,latency_ms,server,status", lines[0].TrimEnd('\r'));
            Assert.Equal(4, lines.Length - 1); // 0.2 s at 20/s, each refused: status -2, no server
            Assert.All(lines.Skip(1), line => Assert.EndsWith(",,-2", line.TrimEnd('\r')));
            Assert.StartsWith("1,1,http://127.0.0.1:1/home?id=", lines[2]);
            Assert.InRange(written, before, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
            Assert.False(File.Exists(file + ".tmp"));
        }
        finally
        {
            File.Delete(file);
        }
    }
}
