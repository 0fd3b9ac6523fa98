namespace LoadBalancer.Experiments.Load;

/// <summary>One bounded burst of requests: how many, how many at once, how fast and for how long at most.</summary>
public sealed record LoadOptions
{
    /// <summary>Requests to send; each carries its own id.</summary>
    public required int Requests { get; init; }

    /// <summary>Requests in flight at once.</summary>
    public int Concurrency { get; init; } = 32;

    /// <summary>When set, requests are paced to this many per second (A-3's timeline); otherwise as fast as they go.</summary>
    public double? RatePerSecond { get; init; }

    /// <summary>The run stops sending when this much time has passed, whatever is left.</summary>
    public TimeSpan TimeLimit { get; init; } = TimeSpan.FromMinutes(3);

    /// <summary>The path requested; the id goes into the query as <c>?id=</c>.</summary>
    public string Path { get; init; } = "/home";

    /// <summary>Seed of the random ids.</summary>
    public int Seed { get; init; } = RequestIds.DefaultSeed;
}
