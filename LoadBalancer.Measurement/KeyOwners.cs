using LoadBalancer.Proxy.Balancing;

namespace LoadBalancer.Measurement;

/// <summary>Which member of a table each key goes to, picked as the proxy picks it (no exclusions).</summary>
public static class KeyOwners
{
    /// <summary>The owner of each of <paramref name="hashes"/> in <paramref name="table"/>; null where no member can take it.</summary>
    public static BackendServer?[] Assign(BalancingTable table, ulong[] hashes)
    {
        var owners = new BackendServer?[hashes.Length];
        for (var i = 0; i < hashes.Length; i++)
        {
            var index = table.Pick(hashes[i], []);
            owners[i] = index < 0 ? null : table.Servers[index];
        }

        return owners;
    }
}
