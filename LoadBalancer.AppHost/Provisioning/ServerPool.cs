namespace LoadBalancer.AppHost.Provisioning;

/// <summary>
/// The AppHost's servers as the proxy sees them: a fixed set of slots (<c>server1</c> … <c>serverMax</c>, one Aspire
/// resource each), each with the ring name it was started under, and which of them are ready (running and healthy).
/// The listed servers, with a version that grows on every change, are the one source of truth for membership that
/// every proxy replica watches.
/// </summary>
/// <remarks>
/// State only, no Aspire calls: <see cref="ServerPoolController"/> starts and stops the resources and reports their
/// state here. All access is under one lock; changes are rare (admin calls, resource state changes).
/// </remarks>
internal sealed class ServerPool
{
    private readonly Lock _gate = new();
    private readonly Slot[] _slots;
    private long _version;
    private TaskCompletionSource _changed = NewSignal();

    /// <summary>Creates the pool with one slot per resource name; the first <paramref name="started"/> carry their own name.</summary>
    public ServerPool(IReadOnlyList<string> resources, int started)
    {
        _slots = new Slot[resources.Count];
        for (var i = 0; i < _slots.Length; i++)
        {
            _slots[i] = new Slot(resources[i]) { Name = i < started ? resources[i] : null };
        }
    }

    /// <summary>The resource names of every slot.</summary>
    public IEnumerable<string> Resources => _slots.Select(slot => slot.Resource);

    /// <summary>The ring name the server in <paramref name="resource"/> was started under (its own name before any).</summary>
    public string NameOf(string resource)
    {
        lock (_gate)
        {
            return Find(resource).Name ?? resource;
        }
    }

    /// <summary>The listed (ready, not retiring) servers now, and the version of that list.</summary>
    public PoolList List()
    {
        lock (_gate)
        {
            var servers = _slots
                .Where(slot => slot is { Name: not null, Ready: true, Retiring: false })
                .Select(slot => new PoolServer(slot.Name!, slot.Resource, slot.Http!, slot.H2c))
                .ToArray();
            return new PoolList(_version, _slots.Count(slot => slot.Name is null), servers);
        }
    }

    /// <summary>Completes once the list's version is past <paramref name="version"/>.</summary>
    public Task WhenChangedAsync(long version)
    {
        lock (_gate)
        {
            return _version > version ? Task.CompletedTask : _changed.Task;
        }
    }

    /// <summary>Records what Aspire reports of <paramref name="resource"/>: ready or not, and its addresses.</summary>
    public void SetReady(string resource, bool ready, Uri? http, Uri? h2c)
    {
        lock (_gate)
        {
            var slot = Find(resource);
            if (slot.Ready == ready && slot.Http == http && slot.H2c == h2c)
            {
                return;
            }

            (slot.Ready, slot.Http, slot.H2c) = (ready && http is not null, http, h2c);
            Changed();
        }
    }

    /// <summary>
    /// Chooses slots for <paramref name="count"/> new servers, the first named <paramref name="names"/>, the rest with
    /// invented names, and reserves them (their names are taken from now on). Returns the slots' resource names and
    /// the ring names, or a refusal.
    /// </summary>
    public PoolReservation Reserve(IReadOnlyList<string> names, int count)
    {
        lock (_gate)
        {
            foreach (var name in names)
            {
                if (_slots.Any(slot => slot.Name == name))
                {
                    return PoolReservation.Refused(PoolRefusal.Conflict, $"<Error> Server '{name}' already exists");
                }
            }

            var free = _slots.Where(slot => slot.Name is null).ToList();
            if (free.Count < count)
            {
                return PoolReservation.Refused(PoolRefusal.TooMany,
                    $"<Error> Only {free.Count} more server(s) can be started: the AppHost runs at most {_slots.Length} (LoadBalancer:MaxServers)");
            }

            var chosen = new List<(string Resource, string Name)>(count);
            foreach (var name in names)
            {
                // A name that is a slot's own (server2 after /rm server2) goes back to that slot when it is free.
                var slot = free.FirstOrDefault(s => s.Resource == name) ?? free[0];
                free.Remove(slot);
                chosen.Add((slot.Resource, name));
            }

            for (var i = names.Count; i < count; i++)
            {
                var slot = free[0];
                free.Remove(slot);
                chosen.Add((slot.Resource, Invent(slot.Resource, names, chosen)));
            }

            foreach (var (resource, name) in chosen)
            {
                Find(resource).Name = name;
            }

            return new PoolReservation(chosen, PoolRefusal.None, null);
        }
    }

    /// <summary>Marks the servers named <paramref name="names"/> as leaving: off the list, so every proxy drains them.</summary>
    public PoolReservation Retire(IReadOnlyList<string> names)
    {
        lock (_gate)
        {
            var chosen = new List<(string Resource, string Name)>(names.Count);
            foreach (var name in names)
            {
                var slot = _slots.FirstOrDefault(s => s.Name == name);
                if (slot is null || slot.Retiring)
                {
                    return PoolReservation.Refused(PoolRefusal.Unknown, $"<Error> Unknown server '{name}': the AppHost runs no server of that name");
                }

                chosen.Add((slot.Resource, name));
            }

            var staying = _slots.Count(slot => slot is { Name: not null, Ready: true, Retiring: false } && !names.Contains(slot.Name!));
            if (staying < 1)
            {
                return PoolReservation.Refused(PoolRefusal.Conflict,
                    $"<Error> Cannot stop {names.Count} server(s): no ready server would be left, and at least one must stay");
            }

            foreach (var (resource, _) in chosen)
            {
                Find(resource).Retiring = true;
            }

            Changed();
            return new PoolReservation(chosen, PoolRefusal.None, null);
        }
    }

    /// <summary>Frees the slot of <paramref name="resource"/> (stopped, or a start given up): its name is free again.</summary>
    public void Release(string resource)
    {
        lock (_gate)
        {
            var slot = Find(resource);
            var wasListed = slot is { Name: not null, Ready: true, Retiring: false };
            (slot.Name, slot.Retiring) = (null, false);
            if (wasListed || slot.Ready)
            {
                Changed();
            }
        }
    }

    // The slot's own name when no one uses it (server6 for the sixth slot), else the first serverK free.
    private string Invent(string resource, IReadOnlyList<string> requested, List<(string Resource, string Name)> chosen)
    {
        bool Taken(string name) => _slots.Any(s => s.Name == name) || requested.Contains(name) || chosen.Any(c => c.Name == name);
        if (!Taken(resource))
        {
            return resource;
        }

        for (var k = 1; ; k++)
        {
            var name = $"server{k}";
            if (!Taken(name))
            {
                return name;
            }
        }
    }

    private Slot Find(string resource) =>
        Array.Find(_slots, slot => slot.Resource == resource) ?? throw new ArgumentException($"No pool slot '{resource}'.", nameof(resource));

    private void Changed()
    {
        _version++;
        var changed = _changed;
        _changed = NewSignal();
        changed.SetResult();
    }

    private static TaskCompletionSource NewSignal() => new(TaskCreationOptions.RunContinuationsAsynchronously);

    private sealed class Slot(string resource)
    {
        public string Resource { get; } = resource;

        public string? Name { get; set; }

        public bool Ready { get; set; }

        public bool Retiring { get; set; }

        public Uri? Http { get; set; }

        public Uri? H2c { get; set; }
    }
}

/// <summary>A listed server: its ring name, the Aspire resource it runs as, and its endpoints.</summary>
internal sealed record PoolServer(string Name, string Resource, Uri Http, Uri? H2c);

/// <summary>The listed servers at <paramref name="Version"/>, and how many slots are free.</summary>
internal sealed record PoolList(long Version, int Free, IReadOnlyList<PoolServer> Servers);

/// <summary>Why the pool refused a change.</summary>
internal enum PoolRefusal
{
    None,
    Conflict,
    TooMany,
    Unknown,
}

/// <summary>Slots chosen for a change (resource, ring name), or why none were.</summary>
internal sealed record PoolReservation(IReadOnlyList<(string Resource, string Name)> Slots, PoolRefusal Refusal, string? Error)
{
    public static PoolReservation Refused(PoolRefusal refusal, string error) => new([], refusal, error);
}
