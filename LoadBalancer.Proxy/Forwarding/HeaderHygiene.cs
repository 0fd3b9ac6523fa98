using System.Buffers;
using System.Net.Http;
using System.Net.Http.Headers;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// What a proxy must not pass on, beyond what YARP already drops (<c>Connection</c>, <c>Keep-Alive</c>, <c>TE</c>,
/// <c>Transfer-Encoding</c>, <c>Upgrade</c>, <c>Proxy-*</c> and a few more): the fields a message's <c>Connection</c>
/// names as hop-by-hop (RFC 9110 §7.6.1), either side's own <see cref="ProxyRequestHandler.ServerNameHeader"/>, and a
/// <c>Host</c> the HTTP client cannot send as the only one.
/// </summary>
/// <remarks>
/// Runs on the copies YARP made, before the proxy adds its own headers (Via, X-Forwarded-*), so a client cannot have
/// those removed by naming them in Connection. A request without Connection costs one header lookup; options YARP drops
/// anyway (keep-alive, close, upgrade, te) cost no string; another named field costs one string for its name.
/// Kestrel limits what can be seen: when a request's Connection holds exactly one of keep-alive, close and upgrade,
/// Kestrel replaces the whole field with that one option before any middleware runs (its HttpHeaders.ParseConnection
/// interns the value), so the other options of <c>Connection: keep-alive, X-Secret</c> are gone and X-Secret passes.
/// </remarks>
internal static class HeaderHygiene
{
    /// <summary>tchar (RFC 9110 §5.6.2): a field name is a token, so an option with anything else names no field.</summary>
    private static readonly SearchValues<char> TokenChars =
        SearchValues.Create("!#$%&'*+-.^_`|~0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz");

    /// <summary>Cleans the forwarded request's headers.</summary>
    public static void Apply(HttpContext context, HttpRequestMessage proxyRequest)
    {
        var headers = proxyRequest.Headers;
        var connection = context.Request.Headers.Connection;
        if (connection.Count > 0)
        {
            RemoveConnectionOptions(connection, headers, proxyRequest.Content?.Headers);
        }

        headers.Remove(ProxyRequestHandler.ServerNameHeader);

        // A Host the client's parser rejects (an empty one, which RFC 9112 allows for a target without authority) is
        // written as it came, and SocketsHttpHandler adds its own from the address: two Host lines, which a server
        // must reject. Without it the server's address goes alone. (The handler parses Host anyway: no extra cost.)
        if (headers.Host is null)
        {
            headers.Remove(HeaderNames.Host);
        }
    }

    /// <summary>
    /// Cleans the server's answer before YARP copies it: the fields its <c>Connection</c> names, and its own
    /// <see cref="ProxyRequestHandler.ServerNameHeader"/>, which would be appended to the one naming the server.
    /// </summary>
    public static void Apply(HttpResponseMessage proxyResponse)
    {
        var headers = proxyResponse.Headers;
        headers.Remove(ProxyRequestHandler.ServerNameHeader);
        if (!headers.NonValidated.TryGetValues(HeaderNames.Connection, out var connection))
        {
            return;
        }

        foreach (var value in connection)
        {
            var rest = value.AsSpan();
            while (NextOption(ref rest) is { IsEmpty: false } option)
            {
                if (NamesRemovableField(option))
                {
                    Remove(headers, proxyResponse.Content?.Headers, option.ToString());
                }
            }
        }
    }

    private static void RemoveConnectionOptions(StringValues connection, HttpHeaders headers, HttpContentHeaders? content)
    {
        foreach (var value in connection)
        {
            var rest = value.AsSpan();
            while (NextOption(ref rest) is { IsEmpty: false } option)
            {
                // Host is what the server routes by: never dropped at a client's word.
                if (!NamesRemovableField(option) || option.Equals(HeaderNames.Host, StringComparison.OrdinalIgnoreCase))
                {
                    continue;
                }

                Remove(headers, content, option.ToString());
            }
        }
    }

    /// <summary>
    /// Removes <paramref name="name"/> from whichever collection holds it: Remove(string) throws for a name the
    /// collection does not take (a content field on the message's own headers, or the other way round).
    /// </summary>
    private static void Remove(HttpHeaders headers, HttpContentHeaders? content, string name)
    {
        if (headers.NonValidated.Contains(name))
        {
            headers.Remove(name);
        }

        if (content is not null && content.NonValidated.Contains(name))
        {
            content.Remove(name);
        }
    }

    /// <summary>The next comma-separated option of a Connection value, trimmed; empty at the end.</summary>
    private static ReadOnlySpan<char> NextOption(ref ReadOnlySpan<char> rest)
    {
        while (!rest.IsEmpty)
        {
            var comma = rest.IndexOf(',');
            var option = (comma < 0 ? rest : rest[..comma]).Trim(" \t");
            rest = comma < 0 ? default : rest[(comma + 1)..];
            if (!option.IsEmpty)
            {
                return option;
            }
        }

        return default;
    }

    /// <summary>
    /// Whether the option names a field to remove: not one YARP drops anyway, not the framing (the proxy frames the
    /// message by Content-Length), and a valid field name (HttpHeaders.Remove throws on any other).
    /// </summary>
    private static bool NamesRemovableField(ReadOnlySpan<char> option) =>
        !IsDroppedAnyway(option) && !IsFraming(option) && !option.ContainsAnyExcept(TokenChars);

    /// <summary>Options naming fields YARP never copies.</summary>
    private static bool IsDroppedAnyway(ReadOnlySpan<char> option) =>
        option.Equals("keep-alive", StringComparison.OrdinalIgnoreCase)
        || option.Equals("close", StringComparison.OrdinalIgnoreCase)
        || option.Equals("upgrade", StringComparison.OrdinalIgnoreCase)
        || option.Equals("te", StringComparison.OrdinalIgnoreCase);

    private static bool IsFraming(ReadOnlySpan<char> option) =>
        option.Equals(HeaderNames.ContentLength, StringComparison.OrdinalIgnoreCase)
        || option.Equals(HeaderNames.TransferEncoding, StringComparison.OrdinalIgnoreCase);
}
