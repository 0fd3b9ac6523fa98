using Yarp.ReverseProxy.Transforms;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// The headers that tell a server who the client is, all under one <see cref="ForwardingOptions.XForwarded"/> action,
/// so that none of them lets a client pass off another address while the others are set: <c>X-Forwarded-For</c>,
/// <c>-Proto</c> and <c>-Host</c> (as YARP's routes apply them by default), RFC 7239 <c>Forwarded</c>
/// (<c>proto=…;host="…";for=…</c>, YARP's transform) and <c>X-Real-IP</c> (the client's address alone).
/// </summary>
/// <remarks>
/// Set writes this hop's values over the client's; Append adds them after (X-Real-IP, a single address, is then kept as
/// received: the trusted proxy in front must set it); Remove drops all; Off passes them as received. Per request, Set
/// and Append cost one string for Forwarded beyond the X-Forwarded-* ones; the address string is the connection's.
/// </remarks>
internal static class ClientAddressHeaders
{
    /// <summary>The header names.</summary>
    internal static class Names
    {
        public const string For = "X-Forwarded-For";
        public const string Proto = "X-Forwarded-Proto";
        public const string Host = "X-Forwarded-Host";
        public const string Forwarded = "Forwarded";
        public const string RealIp = "X-Real-IP";
    }

    /// <summary>The transforms that apply <paramref name="action"/>, in the order they run.</summary>
    public static RequestTransform[] For(ForwardedTransformActions action)
    {
        if (action == ForwardedTransformActions.Off)
        {
            return [];
        }

        var forwarded = new RequestHeaderForwardedTransform(NoRandomNodes.Instance, NodeFormat.Ip, NodeFormat.None, host: true, proto: true, action);
        return action == ForwardedTransformActions.Append
            ? [.. XForwarded(action), forwarded]
            // X-Forwarded-For's transform with one address is exactly X-Real-IP: set to the client's address, or removed.
            : [.. XForwarded(action), forwarded, new RequestHeaderXForwardedForTransform(Names.RealIp, action)];
    }

    private static RequestTransform[] XForwarded(ForwardedTransformActions action) =>
    [
        new RequestHeaderXForwardedForTransform(Names.For, action),
        new RequestHeaderXForwardedProtoTransform(Names.Proto, action),
        new RequestHeaderXForwardedHostTransform(Names.Host, action),
    ];

    /// <summary>
    /// YARP's Forwarded transform takes a random source for obfuscated node names; this proxy writes addresses
    /// (<see cref="NodeFormat.Ip"/>) and no <c>by</c>, so it is never asked for one.
    /// </summary>
    private sealed class NoRandomNodes : Yarp.ReverseProxy.Utilities.IRandomFactory
    {
        public static readonly NoRandomNodes Instance = new();

        public Random CreateRandomInstance() => throw new InvalidOperationException("Forwarded is written with addresses, never with random node names.");
    }
}
