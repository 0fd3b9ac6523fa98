using System.Net;
using LoadBalancer.Proxy.Hashing;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace LoadBalancer.Proxy.Routing;

/// <summary>
/// Reads a request's routing key from the configured sources and hashes it, without allocating in the common case.
/// </summary>
/// <remarks>
/// A percent-encoded query value is decoded before hashing (one allocation) so <c>id=a%20b</c> and the header
/// <c>a b</c> route alike. When no source yields a key, the connection id is used: the request is then sticky to
/// its connection rather than to a key.
/// </remarks>
public sealed class RoutingKeyHasher
{
    private readonly RoutingKeySource[] _sources;
    private readonly string _queryParameter;
    private readonly string _header;
    private readonly string _cookie;

    /// <summary>Creates the hasher from <paramref name="options"/>.</summary>
    public RoutingKeyHasher(IOptions<RoutingOptions> options)
    {
        _sources = options.Value.EffectiveKeySources;
        _queryParameter = options.Value.QueryParameter;
        _header = options.Value.Header;
        _cookie = options.Value.Cookie;
    }

    /// <summary>Hashes the routing key of <paramref name="context"/> with <paramref name="hash"/>.</summary>
    public ulong Hash(HttpContext context, IHashFunction hash) => Hash(context, hash, capture: false, out _);

    /// <summary>
    /// Hashes like <see cref="Hash(HttpContext, IHashFunction)"/> and also returns the key as text. Allocates: only for
    /// telemetry configured to record raw keys.
    /// </summary>
    public ulong Hash(HttpContext context, IHashFunction hash, out string key)
    {
        var result = Hash(context, hash, capture: true, out var captured);
        key = captured!;
        return result;
    }

    private ulong Hash(HttpContext context, IHashFunction hash, bool capture, out string? key)
    {
        key = null;
        foreach (var source in _sources)
        {
            switch (source)
            {
                case RoutingKeySource.Query:
                    if (TryGetQueryValue(context.Request.QueryString.Value, _queryParameter, out var value))
                    {
                        if (value.Contains('%') || value.Contains('+'))
                        {
                            var decoded = WebUtility.UrlDecode(value.ToString());
                            key = decoded;
                            return hash.HashKey(decoded);
                        }

                        key = capture ? value.ToString() : null;
                        return hash.HashKey(value);
                    }

                    break;

                case RoutingKeySource.Header:
                    if (context.Request.Headers.TryGetValue(_header, out var header) && header.Count > 0 && !string.IsNullOrEmpty(header[0]))
                    {
                        key = header[0];
                        return hash.HashKey(header[0]);
                    }

                    break;

                case RoutingKeySource.Cookie:
                    if (TryGetCookieValue(context.Request.Headers.Cookie, _cookie, out var cookie))
                    {
                        key = capture ? cookie.ToString() : null;
                        return hash.HashKey(cookie);
                    }

                    break;

                case RoutingKeySource.ClientAddress:
                    if (context.Connection.RemoteIpAddress is { } address)
                    {
                        key = capture ? address.ToString() : null;
                        return HashAddress(address, hash);
                    }

                    break;
            }
        }

        key = context.Connection.Id;
        return hash.HashKey(context.Connection.Id);
    }

    private static ulong HashAddress(IPAddress address, IHashFunction hash)
    {
        // 64 characters hold any IPv6 text form, scope id included.
        Span<char> buffer = stackalloc char[64];
        return address.TryFormat(buffer, out var written) ? hash.HashKey(buffer[..written]) : hash.HashKey(address.ToString());
    }

    /// <summary>
    /// Finds cookie <paramref name="name"/>'s first non-empty value in the <c>Cookie</c> header(s)
    /// (<c>a=1; b="2"</c>), without the quotes a value may carry: read in place, as ASP.NET Core's cookie collection
    /// would allocate a dictionary per request.
    /// </summary>
    internal static bool TryGetCookieValue(StringValues headers, string name, out ReadOnlySpan<char> value)
    {
        foreach (var header in headers)
        {
            var rest = header.AsSpan();
            while (!rest.IsEmpty)
            {
                var end = rest.IndexOf(';');
                var pair = (end < 0 ? rest : rest[..end]).Trim();
                rest = end < 0 ? [] : rest[(end + 1)..];

                var equals = pair.IndexOf('=');
                if (equals <= 0 || !pair[..equals].TrimEnd().SequenceEqual(name))
                {
                    continue;
                }

                var found = pair[(equals + 1)..].Trim();
                if (found.Length >= 2 && found[0] == '"' && found[^1] == '"')
                {
                    found = found[1..^1];
                }

                if (!found.IsEmpty)
                {
                    value = found;
                    return true;
                }
            }
        }

        value = default;
        return false;
    }

    /// <summary>Finds <paramref name="name"/>'s first non-empty value in a raw query string (<c>?a=1&amp;b=2</c>).</summary>
    internal static bool TryGetQueryValue(string? query, string name, out ReadOnlySpan<char> value)
    {
        var rest = query.AsSpan();
        if (!rest.IsEmpty && rest[0] == '?')
        {
            rest = rest[1..];
        }

        while (!rest.IsEmpty)
        {
            var end = rest.IndexOf('&');
            var pair = end < 0 ? rest : rest[..end];
            rest = end < 0 ? [] : rest[(end + 1)..];

            var equals = pair.IndexOf('=');
            if (equals > 0 && pair[..equals].Equals(name, StringComparison.OrdinalIgnoreCase) && equals < pair.Length - 1)
            {
                value = pair[(equals + 1)..];
                return true;
            }
        }

        value = default;
        return false;
    }
}
