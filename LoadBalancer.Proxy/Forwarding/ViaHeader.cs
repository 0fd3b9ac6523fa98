using System.Net.Http;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// This proxy's entry in <c>Via</c> (RFC 9110 §7.6.3): <c>&lt;received-protocol&gt; &lt;pseudonym&gt;</c>, e.g.
/// <c>1.1 loadbalancer</c>, added after the client's own entries on every forwarded request; and the loop check: a
/// request whose Via already names this pseudonym as received-by has been here before.
/// </summary>
/// <remarks>
/// The entries for HTTP/1.0, 1.1, 2 and 3 are built once, so a request without a Via of its own gets a constant string.
/// Responses get no Via: RFC 9110 lets a gateway leave them out, and the loop check needs only the requests.
/// </remarks>
public sealed class ViaHeader
{
    private readonly string _http10;
    private readonly string _http11;
    private readonly string _http2;
    private readonly string _http3;

    /// <summary>Builds the entries from <see cref="ForwardingOptions.Via"/>.</summary>
    public ViaHeader(IOptions<ForwardingOptions> options)
    {
        Pseudonym = options.Value.Via ?? string.Empty;
        _http10 = "1.0 " + Pseudonym;
        _http11 = "1.1 " + Pseudonym;
        _http2 = "2 " + Pseudonym;
        _http3 = "3 " + Pseudonym;
    }

    /// <summary>The received-by this proxy writes; empty when Via is off.</summary>
    public string Pseudonym { get; }

    /// <summary>Whether Via is sent and loops are checked.</summary>
    public bool Enabled => Pseudonym.Length > 0;

    /// <summary>This hop's entry for a request the client sent over <paramref name="protocol"/> (<c>HTTP/1.1</c> → <c>1.1</c>).</summary>
    public string EntryFor(string protocol) =>
        HttpProtocol.IsHttp11(protocol) ? _http11
        : HttpProtocol.IsHttp2(protocol) ? _http2
        : HttpProtocol.IsHttp10(protocol) ? _http10
        : HttpProtocol.IsHttp3(protocol) ? _http3
        : (protocol.StartsWith("HTTP/", StringComparison.OrdinalIgnoreCase) ? protocol[5..] : protocol) + " " + Pseudonym;

    /// <summary>Adds this hop's entry to the forwarded request, after the client's (already copied) ones.</summary>
    public void Apply(HttpContext context, HttpRequestMessage proxyRequest)
    {
        if (!Enabled)
        {
            return;
        }

        var entry = EntryFor(context.Request.Protocol);
        var headers = proxyRequest.Headers;
        if (headers.NonValidated.TryGetValues(HeaderNames.Via, out var received))
        {
            // One field value, the client's entries first (several field lines are joined with ", ").
            var joined = string.Concat(received.ToString(), ", ", entry);
            headers.Remove(HeaderNames.Via);
            headers.TryAddWithoutValidation(HeaderNames.Via, joined);
            return;
        }

        headers.TryAddWithoutValidation(HeaderNames.Via, entry);
    }

    /// <summary>Whether any entry of <paramref name="via"/> (the client's field lines) names this proxy as received-by.</summary>
    public bool IsOwnEntryIn(StringValues via)
    {
        if (!Enabled)
        {
            return false;
        }

        foreach (var value in via)
        {
            if (value is not null && NamesReceivedBy(value, Pseudonym))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether one Via field value has an entry <c>received-protocol RWS received-by [RWS comment]</c> whose received-by
    /// is <paramref name="receivedBy"/> (case-insensitive, as host names are). Commas inside a comment do not end an entry.
    /// </summary>
    internal static bool NamesReceivedBy(ReadOnlySpan<char> value, string receivedBy)
    {
        var i = 0;
        while (i < value.Length)
        {
            // Empty list elements and the white space before an entry.
            while (i < value.Length && value[i] is ' ' or '\t' or ',')
            {
                i++;
            }

            SkipWord(value, ref i); // received-protocol
            while (i < value.Length && value[i] is ' ' or '\t')
            {
                i++;
            }

            var start = i;
            SkipWord(value, ref i);
            if (value[start..i].Equals(receivedBy, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }

            SkipToNextEntry(value, ref i);
        }

        return false;
    }

    private static void SkipWord(ReadOnlySpan<char> value, ref int i)
    {
        while (i < value.Length && value[i] is not (' ' or '\t' or ',' or '('))
        {
            i++;
        }
    }

    /// <summary>Moves past the rest of an entry (a comment, nested or with quoted-pairs) to the comma that ends it.</summary>
    private static void SkipToNextEntry(ReadOnlySpan<char> value, ref int i)
    {
        var depth = 0;
        while (i < value.Length)
        {
            switch (value[i])
            {
                case '\\' when depth > 0:
                    i++;
                    break;
                case '(':
                    depth++;
                    break;
                case ')' when depth > 0:
                    depth--;
                    break;
                case ',' when depth == 0:
                    return;
            }

            i++;
        }
    }
}
