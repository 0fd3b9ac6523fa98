namespace LoadBalancer.Proxy.Membership;

/// <summary>A server named in an admin call: a server name, or an address to add under <see cref="Name"/>.</summary>
/// <param name="Hostname">What the caller wrote, for error messages.</param>
/// <param name="Name">The server name: the name itself, or the address's authority.</param>
/// <param name="Address">The address of a server to add, or null when <paramref name="Name"/> names a known server.</param>
public readonly record struct ServerReference(string Hostname, string Name, Uri? Address);
