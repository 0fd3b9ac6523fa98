using System.Diagnostics.CodeAnalysis;
using System.Net;
using System.Net.NetworkInformation;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// Tells whether a server address is one of this proxy's own listening endpoints: a server there would make the proxy
/// forward to itself, each request becoming another request until descriptors run out.
/// </summary>
/// <remarks>
/// The bound addresses are read from <see cref="IServerAddressesFeature"/> at each call, not at construction: they are
/// known only once the server listens (and a configured port 0 has become a real one). An endpoint on the any-address
/// (<c>0.0.0.0</c>, <c>[::]</c>, <c>*</c>, <c>+</c>) is reached through loopback, the unspecified address, the machine's
/// own interface addresses and its host name; one on <c>localhost</c> or a loopback address through loopback names and
/// addresses. A name that only DNS could tie to this machine is not resolved (that would make an admin call wait on
/// DNS); a loop through such a name, or through another proxy, needs a check on the forwarded requests themselves
/// (docs/hardening.md, "Forwarding loops"). Calls are rare (admin changes, membership rebuilds), so the interface list
/// is read fresh each time.
/// </remarks>
public sealed partial class OwnAddresses(IServer server)
{
    /// <summary>
    /// True when <paramref name="address"/> reaches one of the proxy's listening endpoints; <paramref name="listener"/>
    /// is that endpoint as the server reports it (e.g. <c>http://0.0.0.0:5000</c>).
    /// </summary>
    public bool IsOwn(Uri address, [NotNullWhen(true)] out string? listener)
    {
        listener = null;
        var bound = server.Features.Get<IServerAddressesFeature>()?.Addresses;
        if (bound is null || bound.Count == 0 || !address.IsAbsoluteUri)
        {
            return false;
        }

        var target = Target.Of(address);
        if (target.Kind == TargetKind.Elsewhere)
        {
            return false;
        }

        IPAddress[]? local = null;
        foreach (var endpoint in bound)
        {
            BindingAddress binding;
            try
            {
                binding = BindingAddress.Parse(endpoint);
            }
            catch (FormatException)
            {
                continue;
            }

            if (binding.IsUnixPipe || binding.IsNamedPipe || binding.Port != address.Port)
            {
                continue;
            }

            if (Reaches(binding.Host, target, ref local))
            {
                listener = endpoint;
                return true;
            }
        }

        return false;
    }

    private static bool Reaches(string boundHost, Target target, ref IPAddress[]? local)
    {
        var host = boundHost.Trim('[', ']');
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            // Kestrel binds both loopback addresses for localhost.
            return target.Kind == TargetKind.LoopbackName || (target.Kind == TargetKind.Address && IsLoopbackOrUnspecified(target.Address!));
        }

        // Kestrel binds any other host name (and *, +) as the any-address.
        if (!IPAddress.TryParse(host, out var ip) || IsUnspecified(ip))
        {
            // Listening on every address: anything that names this machine gets here.
            return target.Kind switch
            {
                TargetKind.LoopbackName or TargetKind.MachineName => true,
                TargetKind.Address => IsLoopbackOrUnspecified(target.Address!) || (local ??= LocalAddresses()).Contains(target.Address!),
                _ => false,
            };
        }

        ip = Normalize(ip);
        return target.Kind switch
        {
            TargetKind.Address => target.Address!.Equals(ip) || (IsUnspecified(target.Address!) && IPAddress.IsLoopback(ip)),
            TargetKind.LoopbackName => IPAddress.IsLoopback(ip),
            _ => false,
        };
    }

    private static IPAddress[] LocalAddresses()
    {
        try
        {
            return NetworkInterface.GetAllNetworkInterfaces()
                .SelectMany(nic => nic.GetIPProperties().UnicastAddresses)
                .Select(unicast => Normalize(unicast.Address))
                .ToArray();
        }
        catch (NetworkInformationException)
        {
            return [];
        }
    }

    private static bool IsLoopbackOrUnspecified(IPAddress address) => IPAddress.IsLoopback(address) || IsUnspecified(address);

    // Connecting to 0.0.0.0 or [::] reaches this machine (Linux treats it as loopback).
    private static bool IsUnspecified(IPAddress address) => address.Equals(IPAddress.Any) || address.Equals(IPAddress.IPv6Any);

    private static IPAddress Normalize(IPAddress address)
    {
        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        // Interface addresses carry a scope id (fe80::1%2); the one in a server address may not.
        return address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6 && address.ScopeId != 0
            ? new IPAddress(address.GetAddressBytes())
            : address;
    }

    private enum TargetKind
    {
        Address,
        LoopbackName,
        MachineName,
        Elsewhere,
    }

    private readonly record struct Target(TargetKind Kind, IPAddress? Address)
    {
        public static Target Of(Uri address)
        {
            var host = address.Host.Trim('[', ']').TrimEnd('.');
            if (IPAddress.TryParse(host, out var ip))
            {
                return new Target(TargetKind.Address, Normalize(ip));
            }

            if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
            {
                // RFC 6761: localhost names resolve to loopback.
                return new Target(TargetKind.LoopbackName, null);
            }

            return host.Equals(Dns.GetHostName(), StringComparison.OrdinalIgnoreCase)
                ? new Target(TargetKind.MachineName, null)
                : new Target(TargetKind.Elsewhere, null);
        }
    }

    [LoggerMessage(EventId = 220, Level = LogLevel.Warning,
        Message = "Server {Server} at {Address} is this proxy itself (it listens on {Listener}) and is left out of the ring: forwarding there would loop")]
    internal static partial void LogLeftOut(ILogger logger, string server, string address, string listener);
}
