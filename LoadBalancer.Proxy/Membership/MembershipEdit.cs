namespace LoadBalancer.Proxy.Membership;

/// <summary>The outcome of an admin membership change: applied whole, or refused with a status code and message.</summary>
public sealed record MembershipEdit(bool Applied, int StatusCode, string? Error, IReadOnlyList<string> Servers, IReadOnlyList<string> Changed)
{
    internal static MembershipEdit Refused(int statusCode, string error) => new(false, statusCode, error, [], []);
}
