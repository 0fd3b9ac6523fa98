using LoadBalancer.Proxy.Admin;

namespace LoadBalancer.Proxy.Membership;

/// <summary>
/// Where <see cref="MembershipManager"/> keeps the admin changes across restarts. The proxy's implementation is the
/// admin state file (<see cref="AdminStateFile"/>, <c>Admin:StateFile</c>); without one, changes live in memory only.
/// </summary>
public interface IMembershipStore
{
    /// <summary>The changes saved before, or none.</summary>
    AdminChanges Load();

    /// <summary>Saves <paramref name="changes"/> whole; false with <paramref name="error"/> (the reply's message) when it could not.</summary>
    bool TrySave(AdminChanges changes, out string? error);
}
