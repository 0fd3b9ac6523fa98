namespace LoadBalancer.Proxy.Provisioning;

/// <summary>
/// Which ring servers the engine runs (as its membership source last saw them), so <c>/rm</c> stops those through
/// the engine and leaves any added by address to the proxy's own table.
/// </summary>
public interface IEngineServers
{
    /// <summary>The names on the engine's last list, or null before the first.</summary>
    IReadOnlySet<string>? Servers { get; }
}

/// <summary>
/// An engine that decides which servers a <c>/rm</c> without names takes (a StatefulSet removes its highest
/// ordinals), in place of a random pick.
/// </summary>
public interface IChoosesRemovals
{
    /// <summary>Adds to <paramref name="chosen"/> until it holds <paramref name="count"/> names from <paramref name="active"/>.</summary>
    void Choose(IReadOnlyList<string> active, List<string> chosen, int count);
}
