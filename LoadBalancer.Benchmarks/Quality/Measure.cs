using LoadBalancer.Measurement;
using LoadBalancer.Proxy.Balancing;

namespace LoadBalancer.Benchmarks.Quality;

/// <summary>The properties of one scheme at one membership size, over one key set.</summary>
internal sealed record Figures(
    double PeakToMean,
    double AddMoved,
    double RemoveMoved,
    double RemoveCollateral,
    double FlipMoved,
    double FlipCollateral,
    double PeakInFlight,
    int BoundViolations);

/// <summary>Measures balance, disruption and in-flight peaks by routing key hashes through tables.</summary>
internal static class Measure
{
    /// <summary>Requests in flight per member in the load simulation.</summary>
    public const int InFlightPerMember = 10;

    public static Figures Run(Scheme scheme, int servers, ulong[] hashes)
    {
        var members = Scheme.Members(servers);
        var table = scheme.Build(members);
        var before = KeyOwners.Assign(table, hashes);
        var peakToMean = Distribution.FromOwners(members, before).PeakToMean;

        // Add one member: every key that changes owner counts.
        var grown = scheme.Build([.. members, .. Scheme.Members(1, servers + 1)]);
        var addMoved = Disruption.MovedFraction(before, KeyOwners.Assign(grown, hashes), except: null);

        // Remove the middle member: ideally only its keys move.
        var victim = members[servers / 2];
        var shrunk = scheme.Build(members.Where(m => m != victim));
        var removed = KeyOwners.Assign(shrunk, hashes);
        var removeMoved = Disruption.MovedFraction(before, removed, except: null);
        var removeCollateral = Disruption.MovedFraction(before, removed, except: victim);

        // Flip the same member's health: the table stays, lookup walks past it.
        victim.SetUnavailable(UnavailableReasons.HealthProbe, true);
        var flipped = KeyOwners.Assign(table, hashes);
        victim.SetUnavailable(UnavailableReasons.HealthProbe, false);
        var flipMoved = Disruption.MovedFraction(before, flipped, except: null);
        var flipCollateral = Disruption.MovedFraction(before, flipped, except: victim);

        var (peakInFlight, violations, servedPeak) = SimulateLoad(scheme, servers, hashes);
        return new Figures(
            scheme.Builder is BoundedLoadAlgorithm ? servedPeak : peakToMean,
            addMoved, removeMoved, removeCollateral, flipMoved, flipCollateral, peakInFlight, violations);
    }

    /// <summary>
    /// Routes the keys with <see cref="InFlightPerMember"/> × N requests in flight (first in, first out) and returns
    /// the highest in-flight load any member reached ÷ the mean, how often a member went above
    /// ⌈1.25 × mean⌉, and the peak-to-mean of requests served.
    /// </summary>
    public static (double PeakInFlight, int Violations, double ServedPeakToMean) SimulateLoad(Scheme scheme, int servers, ulong[] hashes)
    {
        var members = Scheme.Members(servers);
        var table = scheme.Build(members);
        var window = new Queue<BackendServer>();
        var limit = InFlightPerMember * servers;
        var served = new int[servers];
        var peak = 0.0;
        var violations = 0;
        foreach (var hash in hashes)
        {
            var index = table.Pick(hash, []);
            var member = table.Servers[index];
            member.BeginRequest();
            served[index]++;
            window.Enqueue(member);
            if (window.Count < limit)
            {
                // Warming up: with a handful of requests in flight any ratio to the mean is noise.
                continue;
            }

            var mean = (double)limit / servers;
            peak = Math.Max(peak, member.InFlight / mean);
            if (member.InFlight > Math.Ceiling(BoundedLoadTable.DefaultBalanceFactor * mean))
            {
                violations++;
            }

            window.Dequeue().EndRequest(served: true);
        }

        return (peak, violations, served.Max() / ((double)hashes.Length / servers));
    }
}
