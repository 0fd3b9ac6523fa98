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
