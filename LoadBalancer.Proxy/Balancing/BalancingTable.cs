using System.Collections.Immutable;

namespace LoadBalancer.Proxy.Balancing;

/// <summary>
/// An immutable lookup table from key hashes to servers, built once per membership.
/// </summary>
/// <remarks>
/// Tables are built over every server of the ring, healthy or not; health is applied in <see cref="Pick"/> by
/// skipping to the next eligible server, so a health flip moves only the flipped server's keys and needs no rebuild.
/// <see cref="Pick"/> runs on the request path: it must not allocate or lock.
/// </remarks>
public abstract class BalancingTable
{
    /// <summary>Wraps <paramref name="servers"/>, which must be sorted by name (see <see cref="Sort"/>).</summary>
    protected BalancingTable(ImmutableArray<BackendServer> servers)
    {
        Servers = servers;
    }

    /// <summary>The servers, sorted by name; <see cref="Pick"/> returns an index into this array.</summary>
    public ImmutableArray<BackendServer> Servers { get; }

    /// <summary>
    /// The index of the server that serves <paramref name="keyHash"/>: the first eligible one in table order.
    /// A server is eligible when available and not in <paramref name="exclude"/>. Returns -1 when none is.
    /// </summary>
    public abstract int Pick(ulong keyHash, ReadOnlySpan<int> exclude);

    /// <summary>
    /// Counts a request sent to server <paramref name="index"/> (pair with <see cref="BackendServer.EndRequest"/>). A table
    /// that bounds loads admits it only while the server is within its bound at this instant, so two requests picked at
    /// once cannot both take its last place; false counts nothing, and the caller picks again.
    /// </summary>
    public virtual bool TryBeginRequest(int index)
    {
        Servers[index].BeginRequest();
        return true;
    }

    /// <summary>
    /// The share of the 64-bit hash space each server owns, index-aligned with <see cref="Servers"/>; for display and
    /// telemetry, never the request path.
    /// </summary>
    /// <remarks>
    /// This default samples <see cref="Pick"/> at <see cref="ShareSamples"/> evenly spaced hashes, so it works for any
    /// table but counts a server held out of routing as owning nothing. Tables that know their geometry override it
    /// with the exact, health-independent figure (<see cref="HashRing"/> does).
    /// </remarks>
    public virtual IReadOnlyList<double> Shares()
    {
        var counts = new int[Servers.Length];
        var step = ulong.MaxValue / ShareSamples;
        for (var i = 0; i < ShareSamples; i++)
        {
            // Offset by half a step so sampling never starts exactly on a point placed at 0.
            var owner = Pick((step / 2) + ((ulong)i * step), []);
            if (owner >= 0)
            {
                counts[owner]++;
            }
        }

        return Array.ConvertAll(counts, c => (double)c / ShareSamples);
    }

    /// <summary>How many hashes the default <see cref="Shares"/> samples.</summary>
    protected const int ShareSamples = 1 << 16;

    /// <summary>
    /// The servers' places in the hash space for drawing a ring: position in [0, 1) and server index, sorted by position.
    /// Empty for tables that have no ring geometry (the picture then shows <see cref="Shares"/> as arcs).
    /// </summary>
    public virtual IReadOnlyList<TablePoint> Points => [];

    /// <summary>Whether server <paramref name="index"/> may take a request.</summary>
    protected bool IsEligible(int index, ReadOnlySpan<int> exclude) =>
        Servers[index].IsAvailable && !exclude.Contains(index);

    /// <summary>Orders servers by name so the same membership yields the same table whatever the order of arrival.</summary>
    public static ImmutableArray<BackendServer> Sort(IEnumerable<BackendServer> servers)
    {
        var sorted = servers.ToArray();
        Array.Sort(sorted, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        for (var i = 1; i < sorted.Length; i++)
        {
            if (sorted[i - 1].Name == sorted[i].Name)
            {
                throw new ArgumentException($"Server '{sorted[i].Name}' appears twice.", nameof(servers));
            }
        }

        return ImmutableArray.Create(sorted);
    }
}

/// <summary>A point of a server in the hash space, as a fraction of the space (0 ≤ position &lt; 1).</summary>
public readonly record struct TablePoint(double Position, int Server);
