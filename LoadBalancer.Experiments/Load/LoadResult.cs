namespace LoadBalancer.Experiments.Load;

/// <summary>What happened to one request.</summary>
/// <param name="Id">The request's id.</param>
/// <param name="Seconds">When it completed, in seconds since the run started.</param>
/// <param name="Server">The server that answered (from <c>X-Upstream-Server</c>), or null when the request failed.</param>
/// <param name="Status">The HTTP status, or 0 when no response came.</param>
/// <param name="Error">Why it failed, or null.</param>
public sealed record RequestOutcome(string Id, double Seconds, string? Server, int Status, string? Error)
{
    /// <summary>True when a server answered 200.</summary>
    public bool Succeeded => Server is not null;
}

/// <summary>The outcome of a bounded burst of requests.</summary>
public sealed class LoadResult(IReadOnlyList<RequestOutcome> outcomes, TimeSpan elapsed, int planned)
{
    /// <summary>Every request sent, in completion order.</summary>
    public IReadOnlyList<RequestOutcome> Outcomes { get; } = outcomes;

    /// <summary>Wall time of the run.</summary>
    public TimeSpan Elapsed { get; } = elapsed;

    /// <summary>Requests that were planned; more than <see cref="Outcomes"/> when the time limit cut the run short.</summary>
    public int Planned { get; } = planned;

    /// <summary>Requests a server answered with 200.</summary>
    public int Answered => Outcomes.Count(o => o.Succeeded);

    /// <summary>Requests that failed (non-200, no upstream named, or no response).</summary>
    public int Failed => Outcomes.Count - Answered;

    /// <summary>True when the time limit stopped the run before every planned request was sent.</summary>
    public bool CutShort => Outcomes.Count < Planned;

    /// <summary>Answered requests per second.</summary>
    public double Throughput => Elapsed.TotalSeconds > 0 ? Answered / Elapsed.TotalSeconds : 0;

    /// <summary>The servers that answered, one entry per answered request.</summary>
    public IEnumerable<string> AnsweredBy => Outcomes.Where(o => o.Succeeded).Select(o => o.Server!);

    /// <summary>A short description of the most common failures, for reports.</summary>
    public string FailureSummary(int top = 3) => Failed == 0
        ? "none"
        : string.Join("; ", Outcomes.Where(o => !o.Succeeded)
            .GroupBy(o => o.Status == 0 ? o.Error ?? "no response" : $"HTTP {o.Status}")
            .OrderByDescending(g => g.Count())
            .Take(top)
            .Select(g => $"{g.Key} × {g.Count()}"));
}
