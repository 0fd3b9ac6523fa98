using LoadBalancer.Proxy.Balancing;

namespace LoadBalancer.Measurement;

/// <summary>
/// How requests spread over servers: counts per server and the figures that say how even the spread is.
/// </summary>
/// <remarks>
/// The mean alone says nothing (it is total / N by construction); peak-to-mean and the coefficient of variation do.
/// Servers that exist but answered nothing must be listed with 0, or the spread looks better than it is.
/// </remarks>
public sealed class Distribution
{
    /// <summary>Builds the figures from <paramref name="counts"/> (server name → requests answered).</summary>
    public Distribution(IReadOnlyDictionary<string, int> counts)
    {
        ArgumentNullException.ThrowIfNull(counts);
        if (counts.Count == 0)
        {
            throw new ArgumentException("A distribution needs at least one server.", nameof(counts));
        }

        Counts = counts.OrderBy(c => c.Key, ServerNameComparer.Instance).ToArray();
        Total = Counts.Sum(c => c.Value);
        Mean = (double)Total / Counts.Count;
        Min = Counts.Min(c => c.Value);
        Max = Counts.Max(c => c.Value);
        var variance = Counts.Sum(c => (c.Value - Mean) * (c.Value - Mean)) / Counts.Count;
        StandardDeviation = Math.Sqrt(variance);
    }

    /// <summary>Requests per server, ordered by server name (server2 before server10).</summary>
    public IReadOnlyList<KeyValuePair<string, int>> Counts { get; }

    /// <summary>All requests counted.</summary>
    public int Total { get; }

    /// <summary>Requests per server on average: <see cref="Total"/> / N.</summary>
    public double Mean { get; }

    /// <summary>The least-loaded server's count.</summary>
    public int Min { get; }

    /// <summary>The most-loaded server's count.</summary>
    public int Max { get; }

    /// <summary>Population standard deviation of the counts.</summary>
    public double StandardDeviation { get; }

    /// <summary>Peak-to-mean: 1.0 is perfectly even; the busiest server carries this multiple of its fair share.</summary>
    public double PeakToMean => Mean == 0 ? 0 : Max / Mean;

    /// <summary>Coefficient of variation (standard deviation / mean), the "std error of load" peers publish.</summary>
    public double CoefficientOfVariation => Mean == 0 ? 0 : StandardDeviation / Mean;

    /// <summary>Builds a distribution over <paramref name="servers"/> from the server that answered each request.</summary>
    /// <param name="servers">Every server that exists, so one that answered nothing counts as 0.</param>
    /// <param name="answeredBy">The server of each answered request.</param>
    public static Distribution FromAnswers(IEnumerable<string> servers, IEnumerable<string> answeredBy)
    {
        var counts = servers.ToDictionary(s => s, _ => 0, StringComparer.Ordinal);
        foreach (var server in answeredBy)
        {
            counts[server] = counts.GetValueOrDefault(server) + 1;
        }

        return new Distribution(counts);
    }

    /// <summary>
    /// Builds a distribution over a table's <paramref name="members"/> from the owner of each key (as
    /// <see cref="KeyOwners.Assign"/> gives them); keys no member could take count under <c>(none)</c>.
    /// </summary>
    public static Distribution FromOwners(IEnumerable<BackendServer> members, IEnumerable<BackendServer?> owners) =>
        FromAnswers(members.Select(m => m.Name), owners.Select(o => o?.Name ?? "(none)"));
}
