using System.Net;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Admin;

/// <summary>
/// Decides who may call the admin API: with a configured key, callers presenting <c>Authorization: Bearer &lt;key&gt;</c>;
/// without one, loopback callers only.
/// </summary>
/// <remarks>
/// The key is compared as SHA-256 digests with <see cref="CryptographicOperations.FixedTimeEquals"/>: equal lengths,
/// and time independent of where the first difference lies, so neither the key's length nor its prefix leaks.
/// </remarks>
public sealed class AdminAccess
{
    private const string BearerScheme = "Bearer ";
    private readonly byte[]? _keyDigest;

    /// <summary>Creates the check from <paramref name="options"/>.</summary>
    public AdminAccess(IOptions<AdminOptions> options)
    {
        var key = options.Value.ApiKey;
        _keyDigest = string.IsNullOrEmpty(key) ? null : SHA256.HashData(Encoding.UTF8.GetBytes(key));
    }

    /// <summary>True when a key is configured.</summary>
    public bool KeyConfigured => _keyDigest is not null;

    /// <summary>Throws <see cref="AdminFailureException"/> (401 or 403) unless <paramref name="context"/>'s caller may administer.</summary>
    public void Demand(HttpContext context)
    {
        if (_keyDigest is null)
        {
            if (!IsLoopback(context.Connection.RemoteIpAddress))
            {
                throw new AdminFailureException(StatusCodes.Status403Forbidden,
                    "<Error> No admin key is configured (Admin:ApiKey), so the admin API accepts loopback callers only");
            }

            return;
        }

        var header = context.Request.Headers.Authorization;
        if (header.Count != 1 || header[0] is not { } value || !value.StartsWith(BearerScheme, StringComparison.OrdinalIgnoreCase))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"LoadBalancer admin\"";
            throw new AdminFailureException(StatusCodes.Status401Unauthorized, "<Error> The admin API needs 'Authorization: Bearer <key>'");
        }

        var presented = SHA256.HashData(Encoding.UTF8.GetBytes(value.AsSpan(BearerScheme.Length).Trim().ToString()));
        if (!CryptographicOperations.FixedTimeEquals(presented, _keyDigest))
        {
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"LoadBalancer admin\", error=\"invalid_token\"";
            throw new AdminFailureException(StatusCodes.Status401Unauthorized, "<Error> The admin key is not valid");
        }
    }

    /// <summary>True for 127.0.0.0/8 and ::1, also when written as an IPv4-mapped IPv6 address.</summary>
    public static bool IsLoopback(IPAddress? address) =>
        address is not null && IPAddress.IsLoopback(address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address);
}
