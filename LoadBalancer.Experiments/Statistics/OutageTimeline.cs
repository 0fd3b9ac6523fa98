using LoadBalancer.Measurement;

namespace LoadBalancer.Experiments.Statistics;

/// <summary>One request as A-3 sees it: when it completed and who answered (null: it failed).</summary>
public readonly record struct TimedAnswer(double Seconds, string? Server);

/// <summary>
/// A-3's timeline: answers per second per server and failures per second, with the figures that say how the proxy
/// handled one server being stopped and started again.
/// </summary>
public sealed class OutageTimeline
{
    /// <summary>Builds the timeline.</summary>
    /// <param name="answers">Every request of the run.</param>
    /// <param name="servers">The servers that exist (listed even when they answered nothing).</param>
    /// <param name="stoppedServer">The server that was stopped.</param>
    /// <param name="stopIssued">Seconds into the run when the stop was asked for.</param>
    /// <param name="startIssued">Seconds into the run when the start was asked for.</param>
    public OutageTimeline(IEnumerable<TimedAnswer> answers, IEnumerable<string> servers, string stoppedServer, double stopIssued, double startIssued)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(startIssued, stopIssued);
        var all = answers.OrderBy(a => a.Seconds).ToArray();
        StoppedServer = stoppedServer;
        StopIssued = stopIssued;
        StartIssued = startIssued;
        Servers = servers.Union(all.Where(a => a.Server is not null).Select(a => a.Server!)).Order(ServerNameComparer.Instance).ToArray();

        var seconds = all.Length == 0 ? 0 : (int)Math.Floor(all[^1].Seconds) + 1;
        PerServer = Servers.ToDictionary(s => s, _ => new int[seconds], StringComparer.Ordinal);
        FailuresPerSecond = new int[seconds];
        foreach (var answer in all)
        {
            var bucket = (int)Math.Floor(answer.Seconds);
            if (answer.Server is null)
            {
                FailuresPerSecond[bucket]++;
            }
            else
            {
                PerServer[answer.Server][bucket]++;
            }
        }

        Total = all.Length;
        Failed = all.Count(a => a.Server is null);
        FailedDuringOutage = all.Count(a => a.Server is null && a.Seconds >= stopIssued);
        LastAnswerBeforeRestart = all.LastOrDefault(a => a.Server == stoppedServer && a.Seconds < startIssued).Seconds;

        var outageFailures = all.Where(a => a.Server is null && a.Seconds >= stopIssued && a.Seconds < startIssued).ToArray();
        ClientsAffectedFor = outageFailures.Length == 0 ? 0 : outageFailures[^1].Seconds - stopIssued;
        DetectedBeforeRestart = outageFailures.Length == 0 || outageFailures[^1].Seconds < startIssued - QuietBeforeRestart;
        var rejoin = all.FirstOrDefault(a => a.Server == stoppedServer && a.Seconds >= startIssued);
        RejoinAfter = rejoin.Server is null ? null : rejoin.Seconds - startIssued;
    }

    /// <summary>
    /// How long before the restart failures must have stopped for the outage to count as detected: failures that go
    /// on until the restart mean the proxy never routed around the stopped server.
    /// </summary>
    public const double QuietBeforeRestart = 1.0;

    /// <summary>True when failures (if any) stopped well before the restart: the proxy detected the outage.</summary>
    public bool DetectedBeforeRestart { get; }

    /// <summary>The servers, in name order.</summary>
    public IReadOnlyList<string> Servers { get; }

    /// <summary>The server that was stopped and started again.</summary>
    public string StoppedServer { get; }

    /// <summary>Seconds into the run when the stop was asked for.</summary>
    public double StopIssued { get; }

    /// <summary>Seconds into the run when the start was asked for.</summary>
    public double StartIssued { get; }

    /// <summary>Answers per whole second of the run, per server.</summary>
    public IReadOnlyDictionary<string, int[]> PerServer { get; }

    /// <summary>Failed requests per whole second of the run.</summary>
    public int[] FailuresPerSecond { get; }

    /// <summary>Requests in the run.</summary>
    public int Total { get; }

    /// <summary>Requests that failed at any time.</summary>
    public int Failed { get; }

    /// <summary>Requests that failed after the stop was asked for (the goal is zero).</summary>
    public int FailedDuringOutage { get; }

    /// <summary>
    /// Detection as clients see it: seconds from the stop to the last failed request before the restart; after that
    /// the proxy routed around the stopped server. Zero when no client saw a failure.
    /// </summary>
    public double ClientsAffectedFor { get; }

    /// <summary>When the stopped server last answered before the restart (seconds into the run); 0 if never.</summary>
    public double LastAnswerBeforeRestart { get; }

    /// <summary>Seconds from the start request to the restarted server's first answer; null when it never answered again.</summary>
    public double? RejoinAfter { get; }
}
