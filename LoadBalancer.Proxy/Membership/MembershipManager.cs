using LoadBalancer.Proxy.Admin;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Forwarding;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Membership;

/// <summary>
/// Combines what service discovery reports and what the admin API changed into ring membership, and publishes a
/// new snapshot when it changes: servers = (discovered ∪ admin-added) − admin-removed.
/// </summary>
/// <remarks>
/// Membership changes are rare and serialized by one lock; the request path only reads <see cref="TableState.Current"/>.
/// <see cref="BackendServer"/> objects are kept by name across rebuilds so their health and load state survive.
/// Admin changes (<see cref="Add"/>, <see cref="Remove"/>) come last in this file; they are kept across restarts by an
/// <see cref="IMembershipStore"/> (the admin state file).
/// </remarks>
public sealed partial class MembershipManager
{
    private readonly Lock _gate = new();
    private readonly TableState _state;
    private readonly BalancingOptions _options;
    private readonly ILogger<MembershipManager> _logger;
    private readonly IBalancingAlgorithm _algorithm;
    private readonly Hashing.IHashFunction _hash;
    private readonly IMembershipStore? _store;
    private readonly OwnAddresses? _own;
    private readonly HashSet<string> _leftOutAsOwn = new(StringComparer.Ordinal);
    private readonly Dictionary<string, BackendServer> _known = new(StringComparer.Ordinal);

    // One tally for every server this manager creates, for bounded loads only: they read the total in flight from it
    // at once. The other tables never need the total, so their requests do not pay for a shared counter.
    private readonly InFlightTally? _tally;
    private IReadOnlyDictionary<string, Uri> _discovered = new Dictionary<string, Uri>();
    private IReadOnlyDictionary<string, Uri> _added = new Dictionary<string, Uri>();
    private IReadOnlySet<string> _removed = new HashSet<string>();
    private long _version;

    /// <summary>
    /// Creates the manager for <paramref name="state"/>, starting from the admin changes saved in
    /// <paramref name="store"/> if there are any. With <paramref name="own"/>, a server at one of the proxy's own
    /// endpoints is left out of the ring (and refused by <c>/add</c>); <paramref name="lifetime"/> checks again once the
    /// server listens, as the first servers are placed before its addresses are known.
    /// </summary>
    public MembershipManager(
        TableState state,
        IOptions<BalancingOptions> options,
        ILogger<MembershipManager> logger,
        IMembershipStore? store = null,
        OwnAddresses? own = null,
        IHostApplicationLifetime? lifetime = null)
    {
        _own = own;
        _state = state;
        _options = options.Value;
        _logger = logger;
        _algorithm = BalancingAlgorithms.Create(_options);
        _tally = _algorithm is BoundedLoadAlgorithm ? new InFlightTally() : null;
        _hash = BalancingAlgorithms.CreateHash(_options);
        _store = store;
        if (store is not null)
        {
            (_added, _removed) = store.Load();
        }

        lifetime?.ApplicationStarted.Register(RebuildNow);
    }

    /// <summary>Every server ever seen, by name, including ones not in the ring now.</summary>
    public IReadOnlyCollection<BackendServer> Known
    {
        get
        {
            lock (_gate)
            {
                return _known.Values.ToArray();
            }
        }
    }

    /// <summary>Replaces the servers found by service discovery (name → address).</summary>
    public void SetDiscovered(IReadOnlyDictionary<string, Uri> discovered)
    {
        lock (_gate)
        {
            var next = new Dictionary<string, Uri>(discovered, StringComparer.Ordinal);
            Rebuild(next, _added, _removed);
            _discovered = next;
        }
    }

    /// <summary>Rebuilds the ring from the current sets (e.g. once the proxy's own addresses are known).</summary>
    private void RebuildNow()
    {
        lock (_gate)
        {
            Rebuild(_discovered, _added, _removed);
        }
    }

    /// <summary>
    /// Publishes the ring for the given sets (caller holds the lock). Callers commit the sets only after this
    /// returns, so a failure leaves the previous membership in place.
    /// </summary>
    private void Rebuild(IReadOnlyDictionary<string, Uri> discovered, IReadOnlyDictionary<string, Uri> added, IReadOnlySet<string> removed)
    {
        var servers = new List<BackendServer>(discovered.Count + added.Count);
        foreach (var (name, address) in Effective(discovered, added, removed))
        {
            if (IsOwn(name, address))
            {
                continue;
            }

            servers.Add(GetOrCreate(name, address));
        }

        var current = _state.Current;
        if (current is not null && SameServers(current.Table, servers))
        {
            return;
        }

        var table = _algorithm.Build(servers, _hash);
        var snapshot = new TableSnapshot(table, _hash, ++_version);
        _state.Publish(snapshot);
        LogMembershipChanged(_logger, snapshot.Version, table.Servers.Length, string.Join(", ", table.Servers.Select(m => m.Name)));
    }

    /// <summary>(discovered ∪ added) − removed; discovery's address wins when a name is in both.</summary>
    private static IEnumerable<KeyValuePair<string, Uri>> Effective(
        IReadOnlyDictionary<string, Uri> discovered, IReadOnlyDictionary<string, Uri> added, IReadOnlySet<string> removed)
    {
        foreach (var entry in discovered)
        {
            if (!removed.Contains(entry.Key))
            {
                yield return entry;
            }
        }

        foreach (var entry in added)
        {
            if (!discovered.ContainsKey(entry.Key) && !removed.Contains(entry.Key))
            {
                yield return entry;
            }
        }
    }

    /// <summary>
    /// True for a server (discovered or saved) at the proxy's own endpoint: left out rather than looped to, and logged
    /// once until it changes.
    /// </summary>
    private bool IsOwn(string name, Uri address)
    {
        if (_own is null || !_own.IsOwn(address, out var listener))
        {
            _leftOutAsOwn.Remove(name);
            return false;
        }

        if (_leftOutAsOwn.Add(name))
        {
            OwnAddresses.LogLeftOut(_logger, name, address.ToString(), listener);
        }

        return true;
    }

    private BackendServer GetOrCreate(string name, Uri address)
    {
        // A server whose address changed is a new server: its old connections and health say nothing of the new one.
        if (!_known.TryGetValue(name, out var server) || server.Address != address)
        {
            server = new BackendServer(name, address, _options.WeightOf(name), _tally);
            _known[name] = server;
        }

        return server;
    }

    private static bool SameServers(BalancingTable table, List<BackendServer> servers)
    {
        if (table.Servers.Length != servers.Count)
        {
            return false;
        }

        foreach (var server in servers)
        {
            if (!table.Servers.Contains(server))
            {
                return false;
            }
        }

        return true;
    }

    // Admin changes: each call checks everything against the current sets under the lock, builds new sets beside the old
    // ones and commits them only after they are saved (Admin:StateFile) and the new ring is published, so a call is
    // applied whole or not at all.

    /// <summary>Names of the servers in the ring now, in table order.</summary>
    public IReadOnlyList<string> CurrentServers => ServerNames(_state.Current);

    /// <summary>
    /// Brings <paramref name="targets"/> into the ring, then <paramref name="count"/> − targets more of the known
    /// but inactive servers (in name order). Known servers come back by name; addresses join as new servers.
    /// </summary>
    public MembershipEdit Add(IReadOnlyList<ServerReference> targets, int count)
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
                    // The address of a server we already know is that server, not a second one at the same place.
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
    /// Takes <paramref name="names"/> out of the ring, then <paramref name="count"/> − names more servers chosen with
    /// <paramref name="random"/>. At least one server always stays.
    /// </summary>
    public MembershipEdit Remove(IReadOnlyList<ServerReference> names, int count, Random random)
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
    /// Adds servers of <paramref name="active"/> not yet <paramref name="chosen"/> at random until it holds
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
        if (_store is not null && !_store.TrySave(new AdminChanges(added, removed), out var error))
        {
            return MembershipEdit.Refused(StatusCodes.Status500InternalServerError, error!);
        }

        Rebuild(_discovered, added, removed);
        _added = added;
        _removed = removed;
        changed.Sort(StringComparer.Ordinal);
        return new MembershipEdit(true, StatusCodes.Status200OK, null, ServerNames(_state.Current), changed);
    }

    // What the ring holds: a server at the proxy's own endpoint is left out of it (see IsOwn).
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

    private static string[] ServerNames(TableSnapshot? snapshot)
    {
        if (snapshot is null)
        {
            return [];
        }

        var servers = snapshot.Table.Servers;
        var names = new string[servers.Length];
        for (var i = 0; i < names.Length; i++)
        {
            names[i] = servers[i].Name;
        }

        return names;
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Ring membership v{Version}: {Count} servers [{Servers}]")]
    private static partial void LogMembershipChanged(ILogger logger, long version, int count, string servers);
}
