using LoadBalancer.Proxy.Admin;
using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Proxy.Ring;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Membership;

/// <summary>
/// Combines what service discovery reports and what the admin API changed into ring membership, and publishes a
/// new snapshot when it changes: members = (discovered ∪ admin-added) − admin-removed.
/// </summary>
/// <remarks>
/// Membership changes are rare and serialized by one lock; the request path only reads <see cref="RingState.Current"/>.
/// <see cref="Upstream"/> objects are kept by name across rebuilds so their health and load state survive.
/// Admin changes live in MembershipManager.Admin.cs.
/// </remarks>
public sealed partial class MembershipManager
{
    private readonly Lock _gate = new();
    private readonly RingState _state;
    private readonly BalancingOptions _options;
    private readonly ILogger<MembershipManager> _logger;
    private readonly IBalancingAlgorithm _algorithm;
    private readonly Hashing.IHashFunction _hash;
    private readonly AdminStateFile? _stateFile;
    private readonly OwnAddresses? _own;
    private readonly HashSet<string> _leftOutAsOwn = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Upstream> _known = new(StringComparer.Ordinal);
    private IReadOnlyDictionary<string, Uri> _discovered = new Dictionary<string, Uri>();
    private IReadOnlyDictionary<string, Uri> _added = new Dictionary<string, Uri>();
    private IReadOnlySet<string> _removed = new HashSet<string>();
    private long _version;

    /// <summary>
    /// Creates the manager for <paramref name="state"/>, starting from the admin changes saved in
    /// <paramref name="stateFile"/> if there are any. With <paramref name="own"/>, a member at one of the proxy's own
    /// endpoints is left out of the ring (and refused by <c>/add</c>); <paramref name="lifetime"/> checks again once the
    /// server listens, as the first members are placed before its addresses are known.
    /// </summary>
    public MembershipManager(
        RingState state,
        IOptions<BalancingOptions> options,
        ILogger<MembershipManager> logger,
        AdminStateFile? stateFile = null,
        OwnAddresses? own = null,
        IHostApplicationLifetime? lifetime = null)
    {
        _own = own;
        _state = state;
        _options = options.Value;
        _logger = logger;
        _algorithm = BalancingAlgorithms.Create(_options);
        _hash = BalancingAlgorithms.CreateHash(_options);
        _stateFile = stateFile;
        if (stateFile is not null)
        {
            (_added, _removed) = stateFile.Load();
        }

        lifetime?.ApplicationStarted.Register(RebuildNow);
    }

    /// <summary>Every member ever seen, by name, including ones not in the ring now.</summary>
    public IReadOnlyCollection<Upstream> Known
    {
        get
        {
            lock (_gate)
            {
                return _known.Values.ToArray();
            }
        }
    }

    /// <summary>Replaces the members found by service discovery (name → address).</summary>
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
        var members = new List<Upstream>(discovered.Count + added.Count);
        foreach (var (name, address) in Effective(discovered, added, removed))
        {
            if (IsOwn(name, address))
            {
                continue;
            }

            members.Add(GetOrCreate(name, address));
        }

        var current = _state.Current;
        if (current is not null && SameMembers(current.Table, members))
        {
            return;
        }

        var table = _algorithm.Build(members, _hash);
        var snapshot = new RingSnapshot(table, _hash, ++_version);
        _state.Publish(snapshot);
        LogMembershipChanged(_logger, snapshot.Version, table.Members.Length, string.Join(", ", table.Members.Select(m => m.Name)));
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
    /// True for a member (discovered or saved) at the proxy's own endpoint: left out rather than looped to, and logged
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

    private Upstream GetOrCreate(string name, Uri address)
    {
        // A member whose address changed is a new member: its old connections and health say nothing of the new one.
        if (!_known.TryGetValue(name, out var member) || member.Address != address)
        {
            member = new Upstream(name, address, _options.WeightOf(name));
            _known[name] = member;
        }

        return member;
    }

    private static bool SameMembers(BalancingTable table, List<Upstream> members)
    {
        if (table.Members.Length != members.Count)
        {
            return false;
        }

        foreach (var member in members)
        {
            if (!table.Members.Contains(member))
            {
                return false;
            }
        }

        return true;
    }

    [LoggerMessage(EventId = 100, Level = LogLevel.Information, Message = "Ring membership v{Version}: {Count} members [{Members}]")]
    private static partial void LogMembershipChanged(ILogger logger, long version, int count, string members);
}
