using System.Text.Json.Serialization;
using LoadBalancer.Proxy.Balancing;

namespace LoadBalancer.Proxy.Telemetry;

/// <summary>The ring at a glance, as <c>GET /ring</c> returns it.</summary>
/// <param name="Version">The ring snapshot's version (increases on each membership change); 0 before the first.</param>
/// <param name="Table">The table type, e.g. <c>HashRing</c>.</param>
/// <param name="HashFunction">The hash function's configuration name.</param>
/// <param name="Healthy">Servers that may take requests now.</param>
/// <param name="Total">Servers in the ring.</param>
/// <param name="Served">Requests answered by all servers.</param>
/// <param name="Servers">One entry per server, in table order.</param>
/// <param name="LastRemap">The last membership change's share of keys remapped, if there was one.</param>
/// <param name="Points">Each server's points on the ring (position in [0, 1), server index); omitted with <c>?points=false</c>.</param>
public sealed record RingReport(
    long Version,
    string Table,
    string HashFunction,
    int Healthy,
    int Total,
    long Served,
    IReadOnlyList<RingServerReport> Servers,
    RemapReport? LastRemap,
    IReadOnlyList<TablePoint>? Points)
{
    /// <summary>Builds the report of <paramref name="snapshot"/> now.</summary>
    public static RingReport Create(TableSnapshot? snapshot, RemapReport? lastRemap, bool includePoints)
    {
        if (snapshot is null)
        {
            return new RingReport(0, "none", "none", 0, 0, 0, [], lastRemap, includePoints ? [] : null);
        }

        var table = snapshot.Table;
        var shares = table.Shares();
        var points = table.Points;
        var pointCounts = new int[table.Servers.Length];
        foreach (var point in points)
        {
            pointCounts[point.Server]++;
        }

        var servers = new RingServerReport[table.Servers.Length];
        var healthy = 0;
        long served = 0;
        for (var i = 0; i < servers.Length; i++)
        {
            var server = table.Servers[i];
            var reasons = server.UnavailableReasons;
            healthy += reasons == UnavailableReasons.None ? 1 : 0;
            served += server.Served;
            servers[i] = new RingServerReport(
                server.Name,
                server.Address.ToString(),
                server.Weight,
                reasons == UnavailableReasons.None,
                reasons == UnavailableReasons.None ? [] : reasons.ToString().Split(", "),
                points.Count > 0 ? pointCounts[i] : null,
                i < shares.Count ? shares[i] : 0,
                server.Served,
                server.InFlight);
        }

        return new RingReport(
            snapshot.Version,
            table.GetType().Name,
            snapshot.Hash.Name,
            healthy,
            servers.Length,
            served,
            servers,
            lastRemap,
            includePoints ? points : null);
    }
}
