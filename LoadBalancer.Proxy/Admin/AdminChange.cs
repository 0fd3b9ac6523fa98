using LoadBalancer.Proxy.Membership;

namespace LoadBalancer.Proxy.Admin;

/// <summary>An admin change as parsed: how many instances and which servers were named.</summary>
public sealed record AdminChange(int N, IReadOnlyList<ServerReference> Targets);
