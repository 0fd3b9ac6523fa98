using System.Text.Json.Serialization;
using LoadBalancer.Proxy.Membership;
using LoadBalancer.Proxy.Ring;

namespace LoadBalancer.Proxy.Telemetry;

/// <summary>The ring at a glance, as <c>GET /ring</c> returns it.</summary>
/// <param name="Version">The ring snapshot's version (increases on each membership change); 0 before the first.</param>
/// <param name="Table">The table type, e.g. <c>HashRing</c>.</param>
/// <param name="HashFunction">The hash function's configuration name.</param>
/// <param name="Healthy">Members that may take requests now.</param>
/// <param name="Total">Members in the ring.</param>
/// <param name="Served">Requests answered by all members.</param>
/// <param name="Members">One entry per member, in table order.</param>
/// <param name="LastRemap">The last membership change's share of keys remapped, if there was one.</param>
/// <param name="Points">Each member's points on the ring (position in [0, 1), member index); omitted with <c>?points=false</c>.</param>
public sealed record RingReport(
    long Version,
    string Table,
    string HashFunction,
    int Healthy,
    int Total,
    long Served,
    IReadOnlyList<RingMemberReport> Members,
    RemapReport? LastRemap,
    IReadOnlyList<TablePoint>? Points)
{
    /// <summary>Builds the report of <paramref name="snapshot"/> now.</summary>
    public static RingReport Create(RingSnapshot? snapshot, RemapReport? lastRemap, bool includePoints)
    {
        if (snapshot is null)
        {
            return new RingReport(0, "none", "none", 0, 0, 0, [], lastRemap, includePoints ? [] : null);
        }

        var table = snapshot.Table;
        var shares = table.Shares();
        var points = table.Points;
        var pointCounts = new int[table.Members.Length];
        foreach (var point in points)
        {
            pointCounts[point.Member]++;
        }

        var members = new RingMemberReport[table.Members.Length];
        var healthy = 0;
        long served = 0;
        for (var i = 0; i < members.Length; i++)
        {
            var member = table.Members[i];
            var reasons = member.UnavailableReasons;
            healthy += reasons == UnavailableReasons.None ? 1 : 0;
            served += member.Served;
            members[i] = new RingMemberReport(
                member.Name,
                member.Address.ToString(),
                member.Weight,
                reasons == UnavailableReasons.None,
                reasons == UnavailableReasons.None ? [] : reasons.ToString().Split(", "),
                points.Count > 0 ? pointCounts[i] : null,
                i < shares.Count ? shares[i] : 0,
                member.Served,
                member.InFlight);
        }

        return new RingReport(
            snapshot.Version,
            table.GetType().Name,
            snapshot.Hash.Name,
            healthy,
            members.Length,
            served,
            members,
            lastRemap,
            includePoints ? points : null);
    }
}

/// <summary>One ring member in <see cref="RingReport"/>.</summary>
/// <param name="Name">The member's name.</param>
/// <param name="Address">Its base address.</param>
/// <param name="Weight">Its weight.</param>
/// <param name="Healthy">Whether it may take requests now.</param>
/// <param name="Unavailable">Why not, when it may not (<see cref="UnavailableReasons"/> names).</param>
/// <param name="VirtualNodes">Its points on the ring, for tables that have a ring.</param>
/// <param name="Share">The share of the hash space it owns (0–1).</param>
/// <param name="Served">Requests it answered since the proxy first saw it.</param>
/// <param name="InFlight">Requests in flight to it now.</param>
public sealed record RingMemberReport(
    string Name,
    string Address,
    int Weight,
    bool Healthy,
    string[] Unavailable,
    int? VirtualNodes,
    double Share,
    long Served,
    int InFlight);

/// <summary>Source-generated JSON metadata for <c>/ring</c>.</summary>
[JsonSourceGenerationOptions(PropertyNamingPolicy = JsonKnownNamingPolicy.CamelCase, DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(RingReport))]
public sealed partial class RingJsonContext : JsonSerializerContext;
