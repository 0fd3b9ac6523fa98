using System.Diagnostics;
using LoadBalancer.Experiments.Charts;
using LoadBalancer.Experiments.Load;
using LoadBalancer.Experiments.Statistics;
using LoadBalancer.Experiments.Systems;
using static LoadBalancer.Experiments.Runs.Markdown;

namespace LoadBalancer.Experiments.Runs;

/// <summary>
/// A-3: first a tour of every endpoint (<see cref="EndpointTour"/>, before the load, so it cannot disturb it); then
/// steady paced load on N = 3 while one server is stopped (Aspire's stop command) a third of the way in and started
/// again at two thirds. Timeline of answers per second per server and failures, with detection and rejoin times.
/// </summary>
public static class ExperimentA3
{
    /// <summary>The section key.</summary>
    public const string Key = "A-3";

    /// <summary>The server that is stopped and started.</summary>
    public const string StoppedServer = "server2";

    /// <summary>Runs A-3 and writes <c>a3.png</c>.</summary>
    public static async Task<(OutageTimeline Timeline, IReadOnlyList<EndpointCall> Calls, ExperimentReport Report)> RunAsync(ExperimentContext context, CancellationToken cancellationToken)
    {
        var settings = context.Settings;
        await using var system = await context.StartAsync(new SystemSpec(3), cancellationToken).ConfigureAwait(false);
        if (!system.CanControlServers)
        {
            throw new ExperimentSkippedException("A-3 stops and starts a server: it needs the AppHost (run without --url).");
        }

        // The tour takes a member out and brings it back: done before the load, the ring is whole again when it starts.
        var step = context.Progress.Start("A-3: every endpoint", 1);
        IReadOnlyList<EndpointCall> calls;
        using (var admin = LoadGenerator.CreateClient(system.ProxyAddress, 1))
        {
            // The AppHost's pool starts servers for /add: the tour adds S5 and S4 as the assignment does, and removes them.
            calls = await new EndpointTour(admin, system.AdminKey, startsServers: true).RunAsync(system.Servers, cancellationToken).ConfigureAwait(false);
        }

        step.Advance();
        step.Complete();

        var length = settings.OutageRunLength.TotalSeconds;
        var options = new LoadOptions
        {
            Requests = (int)Math.Ceiling(length * settings.OutageRate),
            Concurrency = settings.Concurrency,
            RatePerSecond = settings.OutageRate,
            TimeLimit = settings.OutageRunLength + TimeSpan.FromSeconds(30),
        };

        var clock = new Stopwatch();
        using var run = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var load = context.SendAsync(system, $"A-3: {F(length, "0")} s at {F(settings.OutageRate, "0")} req/s, {StoppedServer} stopped and started", options, run.Token, clock);
        double stopIssued, stopped, startIssued, started;
        try
        {
            await WaitUntilAsync(clock, length / 3, cancellationToken).ConfigureAwait(false);
            stopIssued = clock.Elapsed.TotalSeconds;
            await system.StopServerAsync(StoppedServer, cancellationToken).ConfigureAwait(false);
            stopped = clock.Elapsed.TotalSeconds;

            await WaitUntilAsync(clock, 2 * length / 3, cancellationToken).ConfigureAwait(false);
            startIssued = clock.Elapsed.TotalSeconds;
            await system.StartServerAsync(StoppedServer, cancellationToken).ConfigureAwait(false);
            started = clock.Elapsed.TotalSeconds;
        }
        catch
        {
            // Do not leave the load running against a system that is about to be stopped.
            await run.CancelAsync().ConfigureAwait(false);
            await load.ContinueWith(static _ => { }, CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default).ConfigureAwait(false);
            throw;
        }

        var result = await load.ConfigureAwait(false);
        var timeline = new OutageTimeline(
            result.Outcomes.Select(o => new TimedAnswer(o.Seconds, o.Server)), system.Servers, StoppedServer, stopIssued, startIssued);
        var chart = settings.ChartPath("a3.png");
        ChartWriter.OutageTimeline(chart, $"A-3: {StoppedServer} stopped at {F(stopIssued, "0")} s and started at {F(startIssued, "0")} s", timeline);

        var rejoin = timeline.RejoinAfter is { } r ? $"{F(r, "0.0")} s after the start command ({F(started - startIssued, "0.0")} s of it the command itself)" : "never within the run";
        var markdown = $"""
            ## A-3: every endpoint, and a server stopped and started under load

            ### Every endpoint

            Through the proxy at 127.0.0.1, one call after another before the load starts{(system.AdminKey is null ? "" : ", admin calls with the AppHost's generated key")}.
            The ring ends as it began (N = {system.Servers.Count}). **{calls.Count(c => c.Passed)} of {calls.Count}** calls as expected.

            {EndpointTour.Table(calls)}
            ### A server stopped and started under load

            {Image("A-3: requests per second per server and failures", chart)}

            {Table(["figure", "value"], [
                ["requests", N(timeline.Total)],
                ["failed requests (goal: 0)", $"{N(timeline.Failed)} ({result.FailureSummary()})"],
                ["failed after the stop", N(timeline.FailedDuringOutage)],
                [$"stop command for {StoppedServer}", $"at {F(stopIssued, "0.0")} s, done at {F(stopped, "0.0")} s"],
                [$"{StoppedServer} last answered before the restart", $"at {F(timeline.LastAnswerBeforeRestart, "0.0")} s"],
                ["detection (stop → last failed request before the restart)", Detection(timeline)],
                [$"start command for {StoppedServer}", $"at {F(startIssued, "0.0")} s, done at {F(started, "0.0")} s"],
                [$"rejoin (start → first answer from {StoppedServer})", rejoin],
            ])}
            Load: {F(settings.OutageRate, "0")} requests/s paced, {settings.Concurrency} in flight at most, random six-digit ids; the stop is
            Aspire's `{nameof(Aspire.Hosting.ApplicationModel.KnownResourceCommands.StopCommand)}` (a graceful stop, exit code 0).
            Detection as clients see it: after the last failed request the proxy routed the stopped server's keys elsewhere;
            failures that go on until the restart mean it never did.

            """;
        return (timeline, calls, new ExperimentReport(Key, markdown, [chart]));
    }

    private static string Detection(OutageTimeline timeline) =>
        timeline.FailedDuringOutage == 0 ? "no client saw a failure"
        : timeline.DetectedBeforeRestart ? $"{F(timeline.ClientsAffectedFor, "0.0")} s"
        : "not detected: failures went on until the restart";

    private static async Task WaitUntilAsync(Stopwatch clock, double seconds, CancellationToken cancellationToken)
    {
        // The load task starts the clock; until it has, wait for it.
        while (!clock.IsRunning)
        {
            await Task.Delay(10, cancellationToken).ConfigureAwait(false);
        }

        var due = TimeSpan.FromSeconds(seconds) - clock.Elapsed;
        if (due > TimeSpan.Zero)
        {
            await Task.Delay(due, cancellationToken).ConfigureAwait(false);
        }
    }
}
