using System.Text.Json;
using LoadBalancer.LoadGen;

// An open-loop load generator for bench/hotkeys.sh (see docs/benchmarks.md): requests at a fixed rate, Zipf ids,
// a JSON summary (throughput, latency percentiles from the scheduled send time, errors, each server's share).
LoadSettings settings;
try
{
    settings = LoadSettings.Parse(args);
}
catch (ArgumentException ex)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine(LoadSettings.Usage);
    return 2;
}

// Enough threads at once for a burst of answers: the pool's slow growth would otherwise show as latency.
ThreadPool.GetMinThreads(out var workers, out var io);
ThreadPool.SetMinThreads(Math.Max(workers, 32), io);

var keys = new ZipfKeys(settings.Ids, settings.ZipfS, settings.Seed);
var run = new OpenLoopRun(settings, keys);
await run.RunAsync();
var summary = RunSummary.Of(settings, keys, run.Records, run.FirstMeasured, run.ServerNames, run.PeakOutstanding, run.StartedUnixMs);
if (settings.RecordsFile is not null)
{
    await using var records = File.CreateText(settings.RecordsFile);
    run.WriteRecords(records);
}

var json = JsonSerializer.Serialize(summary, new JsonSerializerOptions { WriteIndented = true, PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower });
if (settings.Out is null)
{
    Console.WriteLine(json);
}
else
{
    await File.WriteAllTextAsync(settings.Out, json);
    Console.Error.WriteLine($"{settings.Label}: {summary.ThroughputRps:F0} req/s, p50 {summary.LatencyMs.P50} ms, p99 {summary.LatencyMs.P99} ms, p99.9 {summary.LatencyMs.P999} ms, errors {summary.Scheduled - summary.Ok}, over {settings.SlowMs:F0} ms {summary.Slow.Count}");
}

return 0;
