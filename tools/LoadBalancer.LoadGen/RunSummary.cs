namespace LoadBalancer.LoadGen;

/// <summary>The JSON summary of one run (snake_case in the file).</summary>
internal sealed record RunSummary(
    string Label,
    string Url,
    double Rate,
    double DurationS,
    double WarmupS,
    double ZipfS,
    int Ids,
    int Seed,
    double HottestIdShare,
    int Scheduled,
    int Ok,
    Dictionary<string, int> Errors,
    double ThroughputRps,
    Percentiles LatencyMs,
    Percentiles LatencyAllMs,
    Percentiles SendLagMs,
    int PeakOutstanding,
    Dictionary<string, ServerSummary> Servers,
    BoundedLoadCheck BoundedLoad,
    IReadOnlyList<SecondSummary> Seconds,
    SlowCount Slow,
    long StartedUnixMs)
{
    /// <summary>Summarizes the measured window of a run: the records from <paramref name="firstMeasured"/> on.</summary>
    public static RunSummary Of(LoadSettings settings, ZipfKeys keys, IReadOnlyList<RequestRecord> records, int firstMeasured,
        IReadOnlyList<string> serverNames, int peakOutstanding, long startedUnixMs = 0)
    {
        var tick = OpenLoopRun.TicksPerSecond / 1000.0;
        var errors = new Dictionary<string, int>(StringComparer.Ordinal);
        var ok = new List<double>();
        var all = new List<double>();
        var lag = new List<double>();
        var servers = serverNames.Select(_ => new int[2]).ToArray(); // [ok, not ok]
        for (var i = firstMeasured; i < records.Count; i++)
        {
            var record = records[i];
            if (record.Status != RequestRecord.GeneratorLimit)
            {
                lag.Add((record.Sent - record.Due) / tick);
            }

            if (record.Status > 0)
            {
                all.Add((record.Done - record.Due) / tick);
            }

            if (record.Status == 200)
            {
                ok.Add((record.Done - record.Due) / tick);
            }
            else
            {
                var kind = record.Status switch
                {
                    RequestRecord.Timeout => "timeout",
                    RequestRecord.TransportError => "transport",
                    RequestRecord.GeneratorLimit => "generator_limit",
                    var status => status.ToString(System.Globalization.CultureInfo.InvariantCulture),
                };
                errors[kind] = errors.GetValueOrDefault(kind) + 1;
            }

            if (record.Server >= 0)
            {
                servers[record.Server][record.Status == 200 ? 0 : 1]++;
            }
        }

        var check = BoundedLoadCheck.Of(records, firstMeasured, serverNames.Count, settings.Servers, settings.BalanceFactor);
        var byServer = serverNames
            .Select((name, index) => (name, index))
            .OrderBy(s => s.name, StringComparer.Ordinal)
            .ToDictionary(
                s => s.name,
                s => new ServerSummary(servers[s.index][0], ok.Count == 0 ? 0 : (double)servers[s.index][0] / ok.Count, servers[s.index][1], check.MaxInFlightByServer[s.index]),
                StringComparer.Ordinal);
        return new RunSummary(
            settings.Label, settings.Url.ToString(), settings.Rate, settings.Duration, settings.Warmup, settings.ZipfS, settings.Ids, settings.Seed,
            keys.ShareOf(0), records.Count - firstMeasured, ok.Count, errors, ok.Count / settings.Duration,
            Percentiles.Of(ok), Percentiles.Of(all), Percentiles.Of(lag), peakOutstanding, byServer, check,
            SecondSummary.Of(records, firstMeasured, settings.Rate, settings.SlowMs, serverNames),
            SlowCount.Of(records, firstMeasured, settings.SlowMs), startedUnixMs);
    }

    /// <summary>A request's latency from its scheduled send to its end, whatever the outcome, in milliseconds.</summary>
    internal static double LatencyOf(RequestRecord record) => (record.Done - record.Due) / (OpenLoopRun.TicksPerSecond / 1000.0);

    /// <summary>Whether a request took longer than <paramref name="slowMs"/>; a request the generator never sent did not.</summary>
    internal static bool IsSlow(RequestRecord record, double slowMs) =>
        record.Status != RequestRecord.GeneratorLimit && LatencyOf(record) > slowMs;
}

/// <summary>
/// The measured requests delayed over a threshold, from their scheduled send to their end, whatever the outcome: what a
/// failover costs the clients whose requests did not fail (a timeout counts too, at the time it gave up).
/// </summary>
/// <param name="ThresholdMs">The threshold (<c>--slow-ms</c>).</param>
/// <param name="Count">Requests over it.</param>
/// <param name="Ok">Of those, the ones answered 200 in the end.</param>
internal sealed record SlowCount(double ThresholdMs, int Count, int Ok)
{
    public static SlowCount Of(IReadOnlyList<RequestRecord> records, int firstMeasured, double slowMs)
    {
        int count = 0, ok = 0;
        for (var i = firstMeasured; i < records.Count; i++)
        {
            if (RunSummary.IsSlow(records[i], slowMs))
            {
                count++;
                ok += records[i].Status == 200 ? 1 : 0;
            }
        }

        return new SlowCount(slowMs, count, ok);
    }
}

/// <summary>One server as the client saw it.</summary>
/// <param name="Ok">200 answers it gave.</param>
/// <param name="Share">Its share of all 200 answers.</param>
/// <param name="Errors">Other answers it gave (503 from a full queue).</param>
/// <param name="MaxInFlight">The most requests it held at once, counted from the client's send to the answer.</param>
internal sealed record ServerSummary(int Ok, double Share, int Errors, int MaxInFlight);

/// <summary>Latency percentiles (nearest rank) in milliseconds.</summary>
internal sealed record Percentiles(int Count, double Mean, double P50, double P90, double P99, double P999, double Max)
{
    public static Percentiles Of(List<double> values)
    {
        if (values.Count == 0)
        {
            return new Percentiles(0, 0, 0, 0, 0, 0, 0);
        }

        values.Sort();
        double At(double p) => values[Math.Clamp((int)Math.Ceiling(p * values.Count) - 1, 0, values.Count - 1)];
        return new Percentiles(values.Count, Math.Round(values.Average(), 3), Round(At(0.50)), Round(At(0.90)), Round(At(0.99)), Round(At(0.999)), Round(values[^1]));
    }

    private static double Round(double value) => Math.Round(value, 3);
}

/// <summary>
/// The bounded-load property seen from the client: when each measured request left, did its server (the one that
/// answered it) hold more than ⌈c × total in flight / servers⌉ requests, counting it? Requests are in flight from the
/// send to the end of the answer; those with no known server count in the total only.
/// </summary>
/// <param name="C">The balance factor c.</param>
/// <param name="Servers">The servers behind the target (the mean divides by them).</param>
/// <param name="Checked">Measured requests with a known server.</param>
/// <param name="OverBound">How many of them found their server above the bound.</param>
/// <param name="MaxOverBound">The most a server was above the bound, in requests.</param>
/// <param name="MaxInFlight">The most any server held at once.</param>
internal sealed record BoundedLoadCheck(double C, int Servers, int Checked, int OverBound, int MaxOverBound, int MaxInFlight)
{
    [System.Text.Json.Serialization.JsonIgnore]
    public int[] MaxInFlightByServer { get; init; } = [];

    public static BoundedLoadCheck Of(IReadOnlyList<RequestRecord> records, int firstMeasured, int serverNames, int servers, double c)
    {
        // (time, departure first at equal times, request index); a departure is encoded as ~index.
        var events = new List<(long Time, int Order, int Index)>(records.Count * 2);
        for (var i = 0; i < records.Count; i++)
        {
            if (records[i].Status == RequestRecord.GeneratorLimit)
            {
                continue;
            }

            events.Add((records[i].Sent, 1, i));
            events.Add((records[i].Done, 0, ~i));
        }

        events.Sort((a, b) => a.Time != b.Time ? a.Time.CompareTo(b.Time) : a.Order.CompareTo(b.Order));
        var held = new int[serverNames];
        var peak = new int[serverNames];
        int total = 0, checkedCount = 0, over = 0, maxOver = int.MinValue;
        foreach (var (_, _, encoded) in events)
        {
            var index = encoded >= 0 ? encoded : ~encoded;
            var server = records[index].Server;
            var step = encoded >= 0 ? 1 : -1;
            total += step;
            if (server < 0)
            {
                continue;
            }

            held[server] += step;
            if (step < 0 || index < firstMeasured)
            {
                continue;
            }

            peak[server] = Math.Max(peak[server], held[server]);
            var bound = (int)Math.Ceiling(c * total / servers);
            checkedCount++;
            maxOver = Math.Max(maxOver, held[server] - bound);
            if (held[server] > bound)
            {
                over++;
            }
        }

        return new BoundedLoadCheck(c, servers, checkedCount, over, checkedCount == 0 ? 0 : maxOver, peak.DefaultIfEmpty(0).Max())
        {
            MaxInFlightByServer = peak,
        };
    }
}

/// <summary>One second of the measured window, by scheduled send time: what a chart over time needs.</summary>
/// <param name="Second">Seconds since the measured window began.</param>
/// <param name="Ok">200 answers to the requests scheduled in this second.</param>
/// <param name="Errors">Other outcomes.</param>
/// <param name="P99Ms">The 99th percentile latency of the 200 answers.</param>
/// <param name="MaxSendLagMs">The scheduler's worst lateness in this second.</param>
/// <param name="Slow">Requests (any outcome) that took longer than the slow threshold (<c>--slow-ms</c>).</param>
/// <param name="MaxMs">The slowest request's latency, whatever its outcome.</param>
/// <param name="Servers">The 200 answers each server gave (by name), so a share can be read before and after a fault.</param>
internal sealed record SecondSummary(int Second, int Ok, int Errors, double P99Ms, double MaxSendLagMs, int Slow, double MaxMs, Dictionary<string, int> Servers)
{
    public static IReadOnlyList<SecondSummary> Of(IReadOnlyList<RequestRecord> records, int firstMeasured, double rate, double slowMs = double.MaxValue,
        IReadOnlyList<string>? serverNames = null)
    {
        var tick = OpenLoopRun.TicksPerSecond / 1000.0;
        var perSecond = Math.Max(1, (int)Math.Round(rate));
        var seconds = new List<SecondSummary>();
        for (var from = firstMeasured; from < records.Count; from += perSecond)
        {
            var slice = Enumerable.Range(from, Math.Min(perSecond, records.Count - from)).Select(i => records[i]).ToList();
            var ok = slice.Where(r => r.Status == 200).Select(r => (r.Done - r.Due) / tick).ToList();
            var lag = slice.Count == 0 ? 0 : slice.Max(r => (r.Sent - r.Due) / tick);
            var sent = slice.Where(r => r.Status != RequestRecord.GeneratorLimit).ToList();
            var max = sent.Count == 0 ? 0 : sent.Max(RunSummary.LatencyOf);
            seconds.Add(new SecondSummary(seconds.Count, ok.Count, slice.Count - ok.Count, Percentiles.Of(ok).P99, Math.Round(lag, 3),
                sent.Count(r => RunSummary.IsSlow(r, slowMs)), Math.Round(max, 3),
                slice.Where(r => r.Status == 200 && r.Server >= 0 && serverNames is not null)
                    .GroupBy(r => serverNames![r.Server])
                    .OrderBy(g => g.Key, StringComparer.Ordinal)
                    .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal)));
        }

        return seconds;
    }
}
