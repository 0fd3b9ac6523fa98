using System.Collections.Immutable;

namespace LoadBalancer.Proxy.Ring;

/// <summary>
/// An immutable lookup table from key hashes to members, built once per membership.
/// </summary>
/// <remarks>
/// Tables are built over every member of the ring, healthy or not; health is applied in <see cref="Pick"/> by
/// skipping to the next eligible member, so a health flip moves only the flipped member's keys and needs no rebuild.
/// <see cref="Pick"/> runs on the request path: it must not allocate or lock.
/// </remarks>
public abstract class BalancingTable
{
    /// <summary>Wraps <paramref name="members"/>, which must be sorted by name (see <see cref="Sort"/>).</summary>
    protected BalancingTable(ImmutableArray<Upstream> members)
    {
        Members = members;
    }

    /// <summary>The members, sorted by name; <see cref="Pick"/> returns an index into this array.</summary>
    public ImmutableArray<Upstream> Members { get; }

    /// <summary>
    /// The index of the member that serves <paramref name="keyHash"/>: the first eligible one in table order.
    /// A member is eligible when available and not in <paramref name="exclude"/>. Returns -1 when none is.
    /// </summary>
    public abstract int Pick(ulong keyHash, ReadOnlySpan<int> exclude);

    /// <summary>
    /// The share of the 64-bit hash space each member owns, index-aligned with <see cref="Members"/>; for display and
    /// telemetry, never the request path.
    /// </summary>
    /// <remarks>
    /// This default samples <see cref="Pick"/> at <see cref="ShareSamples"/> evenly spaced hashes, so it works for any
    /// table but counts a member held out of routing as owning nothing. Tables that know their geometry override it
    /// with the exact, health-independent figure (<see cref="HashRing"/> does).
    /// </remarks>
    public virtual IReadOnlyList<double> Shares()
    {
        var counts = new int[Members.Length];
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
    /// The members' places in the hash space for drawing a ring: position in [0, 1) and member index, sorted by position.
    /// Empty for tables that have no ring geometry (the picture then shows <see cref="Shares"/> as arcs).
    /// </summary>
    public virtual IReadOnlyList<TablePoint> Points => [];

    /// <summary>Whether member <paramref name="index"/> may take a request.</summary>
    protected bool IsEligible(int index, ReadOnlySpan<int> exclude) =>
        Members[index].IsAvailable && !exclude.Contains(index);

    /// <summary>Orders members by name so the same membership yields the same table whatever the order of arrival.</summary>
    public static ImmutableArray<Upstream> Sort(IEnumerable<Upstream> members)
    {
        var sorted = members.ToArray();
        Array.Sort(sorted, static (a, b) => string.CompareOrdinal(a.Name, b.Name));
        for (var i = 1; i < sorted.Length; i++)
        {
            if (sorted[i - 1].Name == sorted[i].Name)
            {
                throw new ArgumentException($"Member '{sorted[i].Name}' appears twice.", nameof(members));
            }
        }

        return ImmutableArray.Create(sorted);
    }
}

/// <summary>A point of a member in the hash space, as a fraction of the space (0 ≤ position &lt; 1).</summary>
public readonly record struct TablePoint(double Position, int Member);
