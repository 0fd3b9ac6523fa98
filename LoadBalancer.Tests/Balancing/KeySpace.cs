using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Hashing;

namespace LoadBalancer.Tests.Balancing;

/// <summary>1,000,000 random keys hashed once with XxHash3, shared by the property tests of a class.</summary>
public sealed class KeySpace
{
    public const int Count = 1_000_000;

    public KeySpace()
    {
        var hash = new XxHash3Function();
        var random = new Random(2026);
        Span<char> buffer = stackalloc char[16];
        Hashes = new ulong[Count];
        for (var i = 0; i < Count; i++)
        {
            random.NextInt64().TryFormat(buffer, out var written, "x16", System.Globalization.CultureInfo.InvariantCulture);
            Hashes[i] = hash.HashKey(buffer[..written]);
        }
    }

    public ulong[] Hashes { get; }

    /// <summary>Servers sharing one in-flight tally, as the proxy's do (a new one unless <paramref name="tally"/> is given).</summary>
    public static BackendServer[] Servers(int count, int first = 1, InFlightTally? tally = null)
    {
        tally ??= new InFlightTally();
        return Enumerable.Range(first, count).Select(i => new BackendServer($"server{i}", new Uri($"http://127.0.0.1:{6000 + i}"), tally: tally)).ToArray();
    }

    /// <summary>Servers with no tally: a bounded-load table then sums their loads itself.</summary>
    public static BackendServer[] UntalliedServers(int count) =>
        Enumerable.Range(1, count).Select(i => new BackendServer($"server{i}", new Uri($"http://127.0.0.1:{6000 + i}"))).ToArray();

    /// <summary>The server name serving each key (null when none can).</summary>
    public string?[] Owners(BalancingTable table)
    {
        var owners = new string?[Hashes.Length];
        for (var i = 0; i < owners.Length; i++)
        {
            var index = table.Pick(Hashes[i], []);
            owners[i] = index < 0 ? null : table.Servers[index].Name;
        }

        return owners;
    }

    public static double PeakToMean(string?[] owners, int servers) =>
        owners.GroupBy(o => o).Max(g => g.Count()) / ((double)owners.Length / servers);

    /// <summary>Keys whose owner differs between the two mappings, optionally only those not first owned by <paramref name="except"/>.</summary>
    public static int Changed(string?[] before, string?[] after, string? except = null)
    {
        var changed = 0;
        for (var i = 0; i < before.Length; i++)
        {
            if (before[i] != after[i] && before[i] != except)
            {
                changed++;
            }
        }

        return changed;
    }
}
