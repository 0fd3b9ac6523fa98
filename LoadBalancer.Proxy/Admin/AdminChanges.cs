namespace LoadBalancer.Proxy.Admin;

/// <summary>The admin API's changes to what discovery reports: servers added by address and servers removed.</summary>
/// <param name="Added">Name → address of the servers added by address.</param>
/// <param name="Removed">Names of the servers taken out with <c>/rm</c>.</param>
public sealed record AdminChanges(IReadOnlyDictionary<string, Uri> Added, IReadOnlySet<string> Removed)
{
    /// <summary>No changes.</summary>
    public static AdminChanges None { get; } = new(new Dictionary<string, Uri>(), new HashSet<string>());
}
