using LoadBalancer.Proxy.Ring;

namespace LoadBalancer.Measurement;

/// <summary>Which member of a table each key goes to, picked as the proxy picks it (no exclusions).</summary>
public static class KeyOwners
{
    /// <summary>The owner of each of <paramref name="hashes"/> in <paramref name="table"/>; null where no member can take it.</summary>
    public static Upstream?[] Assign(BalancingTable table, ulong[] hashes)
    {
        var owners = new Upstream?[hashes.Length];
        for (var i = 0; i < hashes.Length; i++)
        {
            var index = table.Pick(hashes[i], []);
            owners[i] = index < 0 ? null : table.Members[index];
        }

        return owners;
    }
}
