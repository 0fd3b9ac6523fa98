using LoadBalancer.Proxy.Admin;

namespace LoadBalancer.Proxy.Membership;

/// <summary>A server named in an admin call: a member name, or an address to add under <see cref="Name"/>.</summary>
/// <param name="Hostname">What the caller wrote, for error messages.</param>
/// <param name="Name">The member name: the name itself, or the address's authority.</param>
/// <param name="Address">The address of a server to add, or null when <paramref name="Name"/> names a known member.</param>
public readonly record struct MemberReference(string Hostname, string Name, Uri? Address);

/// <summary>The outcome of an admin membership change: applied whole, or refused with a status code and message.</summary>
public sealed record MembershipEdit(bool Applied, int StatusCode, string? Error, IReadOnlyList<string> Members, IReadOnlyList<string> Changed)
{
    internal static MembershipEdit Refused(int statusCode, string error) => new(false, statusCode, error, [], []);
}

// Admin changes: each call checks everything against the current sets under the lock, builds new sets beside the old
// ones and commits them only after they are saved (Admin:StateFile) and the new ring is published, so a call is
// applied whole or not at all.
public sealed partial class MembershipManager
{
    /// <summary>Names of the members in the ring now, in table order.</summary>
    public IReadOnlyList<string> CurrentMembers => MemberNames(_state.Current);

    /// <summary>
    /// Brings <paramref name="targets"/> into the ring, then <paramref name="count"/> − targets more of the known
    /// but inactive members (in name order). Known members come back by name; addresses join as new members.
    /// </summary>
    public MembershipEdit Add(IReadOnlyList<MemberReference> targets, int count)
    {
        lock (_gate)
        {
            var active = ActiveNames();
            var added = new Dictionary<string, Uri>(_added, StringComparer.Ordinal);
            var removed = new HashSet<string>(_removed, StringComparer.Ordinal);
            var chosen = new List<string>(count);
            foreach (var target in targets)
            {
                var name = target.Name;
                if (target.Address is not null && _own is not null && _own.IsOwn(target.Address, out var listener))
                {
                    return MembershipEdit.Refused(StatusCodes.Status400BadRequest,
                        $"<Error> '{target.Hostname}' is this proxy's own address (it listens on {listener}): forwarding there would loop");
                }

                if (target.Address is not null)
                {
                    // The address of a member we already know is that member, not a second one at the same place.
                    name = FindByAddress(target.Address) ?? name;
                    if (!IsKnown(name, added))
                    {
                        added[name] = target.Address;
                    }
                }
                else if (!IsKnown(name, added))
                {
                    return MembershipEdit.Refused(StatusCodes.Status404NotFound,
                        $"<Error> Unknown server '{target.Hostname}': service discovery does not list it, it was never added, and this proxy cannot start servers (Provisioning:Engine is None); give its http(s) address to add a new server");
                }

                if (active.Contains(name))
                {
                    return MembershipEdit.Refused(StatusCodes.Status409Conflict, $"<Error> Server '{target.Hostname}' is already in the ring");
                }

                if (chosen.Contains(name))
                {
                    return MembershipEdit.Refused(StatusCodes.Status400BadRequest, $"<Error> Server '{target.Hostname}' is named twice");
                }

                removed.Remove(name);
                chosen.Add(name);
            }

            var missing = count - chosen.Count;
            if (missing > 0)
            {
                var inactive = _discovered.Keys.Concat(added.Keys)
                    .Where(name => _removed.Contains(name) && !chosen.Contains(name))
                    .Distinct(StringComparer.Ordinal)
                    .Order(StringComparer.Ordinal)
                    .ToList();
                if (inactive.Count < missing)
                {
                    return MembershipEdit.Refused(StatusCodes.Status400BadRequest,
                        $"<Error> Only {inactive.Count + chosen.Count} of {count} new instances could be added: the proxy knows {inactive.Count} inactive server(s) " +
                        "besides those named and cannot start servers (Provisioning:Engine is None); name new servers by their http(s) address");
                }

                foreach (var name in inactive.Take(missing))
                {
                    removed.Remove(name);
                    chosen.Add(name);
                }
            }

            return Commit(added, removed, chosen);
        }
    }

    /// <summary>
    /// Takes <paramref name="names"/> out of the ring, then <paramref name="count"/> − names more members chosen with
    /// <paramref name="random"/>. At least one member always stays.
    /// </summary>
    public MembershipEdit Remove(IReadOnlyList<MemberReference> names, int count, Random random)
    {
        lock (_gate)
        {
            var active = ActiveNames();
            var removed = new HashSet<string>(_removed, StringComparer.Ordinal);
            var chosen = new List<string>(count);
            foreach (var target in names)
            {
                var name = target.Address is null ? target.Name : FindByAddress(target.Address) ?? target.Name;
                if (!active.Contains(name))
                {
                    return IsKnown(name, _added)
                        ? MembershipEdit.Refused(StatusCodes.Status409Conflict, $"<Error> Server '{target.Hostname}' is not in the ring (removed already)")
                        : MembershipEdit.Refused(StatusCodes.Status404NotFound, $"<Error> Unknown server '{target.Hostname}'");
                }

                if (chosen.Contains(name))
                {
                    return MembershipEdit.Refused(StatusCodes.Status400BadRequest, $"<Error> Server '{target.Hostname}' is named twice");
                }

                chosen.Add(name);
            }

            if (count >= active.Count)
            {
                return MembershipEdit.Refused(StatusCodes.Status409Conflict,
                    $"<Error> Cannot remove {count} instance(s): the ring has {active.Count} and at least one must stay");
            }

            PickAtRandom(active, chosen, count, random);
            removed.UnionWith(chosen);
            return Commit(_added, removed, chosen);
        }
    }

    /// <summary>
    /// Adds members of <paramref name="active"/> not yet <paramref name="chosen"/> at random until it holds
    /// <paramref name="count"/>, as the assignment's <c>/rm</c> does; sorted first so a seeded random gives the same choice.
    /// </summary>
    internal static void PickAtRandom(IEnumerable<string> active, List<string> chosen, int count, Random random)
    {
        var pool = active.Where(name => !chosen.Contains(name)).Order(StringComparer.Ordinal).ToArray();
        var rest = count - chosen.Count;
        for (var i = 0; i < rest; i++)
        {
            var pick = random.Next(i, pool.Length);
            (pool[i], pool[pick]) = (pool[pick], pool[i]);
            chosen.Add(pool[i]);
        }
    }

    private MembershipEdit Commit(IReadOnlyDictionary<string, Uri> added, HashSet<string> removed, List<string> changed)
    {
        // Saved first: a change the file does not hold would be undone by the next restart, so it is not made.
        if (_stateFile is not null && !_stateFile.TrySave(new AdminChanges(added, removed), out var error))
        {
            return MembershipEdit.Refused(StatusCodes.Status500InternalServerError, error!);
        }

        Rebuild(_discovered, added, removed);
        _added = added;
        _removed = removed;
        changed.Sort(StringComparer.Ordinal);
        return new MembershipEdit(true, StatusCodes.Status200OK, null, MemberNames(_state.Current), changed);
    }

    // What the ring holds: a member at the proxy's own endpoint is left out of it (see IsOwn).
    private HashSet<string> ActiveNames() =>
        Effective(_discovered, _added, _removed)
            .Where(entry => _own is null || !_own.IsOwn(entry.Value, out _))
            .Select(entry => entry.Key)
            .ToHashSet(StringComparer.Ordinal);

    private bool IsKnown(string name, IReadOnlyDictionary<string, Uri> added) => _discovered.ContainsKey(name) || added.ContainsKey(name);

    private string? FindByAddress(Uri address)
    {
        foreach (var (name, known) in _discovered.Concat(_added))
        {
            if (known == address)
            {
                return name;
            }
        }

        return null;
    }

    private static string[] MemberNames(RingSnapshot? snapshot)
    {
        if (snapshot is null)
        {
            return [];
        }

        var members = snapshot.Table.Members;
        var names = new string[members.Length];
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = members[i].Name;
        }

        return names;
    }
}
