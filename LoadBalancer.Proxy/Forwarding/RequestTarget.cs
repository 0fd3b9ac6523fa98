using Microsoft.AspNetCore.Http.Features;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// The request target the servers get: the client's own bytes (<see cref="IHttpRequestFeature.RawTarget"/>), as nginx
/// and HAProxy pass it, rather than YARP's re-encoding of the decoded path, which turns <c>%2F</c> into <c>%252F</c>
/// (dotnet/yarp#1419) and drops dot-segments and other escapes the client chose.
/// </summary>
/// <remarks>
/// <see cref="Uri"/> would canonicalise the raw path again, so it is built with
/// <see cref="UriCreationOptions.DangerousDisablePathAndQueryCanonicalization"/>: SocketsHttpHandler writes its
/// <see cref="Uri.PathAndQuery"/> as it is. The cost is what YARP's own target costs: one string and one Uri.
/// </remarks>
internal static class RequestTarget
{
    private static readonly UriCreationOptions Verbatim = new() { DangerousDisablePathAndQueryCanonicalization = true };

    /// <summary>Whether the client asked <c>OPTIONS *</c> (asterisk-form: Kestrel leaves the path empty for it).</summary>
    public static bool IsAsteriskForm(HttpContext context) =>
        !context.Request.Path.HasValue && context.Features.Get<IHttpRequestFeature>()?.RawTarget == "*";

    /// <summary>
    /// The address to send the request to: <paramref name="destinationPrefix"/> and the client's raw path and query.
    /// Null where YARP's own should be used instead: under a PathBase (the raw target still holds it), or when the raw
    /// target is missing or has characters that are not visible ASCII (only HTTP/2 and 3 let those through).
    /// </summary>
    public static Uri? ForwardedUri(HttpContext context, string destinationPrefix)
    {
        if (context.Request.PathBase.HasValue || context.Features.Get<IHttpRequestFeature>()?.RawTarget is not { Length: > 0 } raw)
        {
            return null;
        }

        var pathAndQuery = raw[0] == '/' ? raw.AsSpan() : AbsoluteFormPathAndQuery(raw);
        if (pathAndQuery.IsEmpty || pathAndQuery.ContainsAnyExceptInRange('!', '~'))
        {
            return null;
        }

        var prefix = destinationPrefix.AsSpan();
        if (prefix.EndsWith('/'))
        {
            prefix = prefix[..^1];
        }

        // An absolute-form target with no path ("http://host" or "http://host?q") asks for "/".
        var uri = pathAndQuery[0] == '/'
            ? string.Concat(prefix, pathAndQuery)
            : string.Concat(prefix, "/", pathAndQuery);
        return new Uri(uri, in Verbatim);
    }

    /// <summary>
    /// The path and query of an absolute-form target (<c>GET http://host/x HTTP/1.1</c>, which Kestrel accepts only
    /// with a matching Host): everything after the authority. Empty if it is not of that form.
    /// </summary>
    private static ReadOnlySpan<char> AbsoluteFormPathAndQuery(string raw)
    {
        var scheme = raw.IndexOf("://", StringComparison.Ordinal);
        if (scheme < 0)
        {
            return default;
        }

        var authority = raw.AsSpan(scheme + 3);
        var end = authority.IndexOfAny('/', '?', '#');
        return end < 0 ? "/" : authority[end..];
    }
}
