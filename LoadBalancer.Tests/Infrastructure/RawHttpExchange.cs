using System.Net.Sockets;
using System.Text;

namespace LoadBalancer.Tests.Infrastructure;

/// <summary>
/// One HTTP/1.1 exchange written byte for byte over TCP, for requests HttpClient would fix or refuse to send
/// (odd paths, bad chunk sizes, a Content-Length with no body behind it).
/// </summary>
public static class RawHttpExchange
{
    /// <summary>A response as read: the status line's code, the headers (lower-case names) and the body text.</summary>
    public sealed record Response(int Status, IReadOnlyDictionary<string, string> Headers, string Body);

    /// <summary>
    /// Sends <paramref name="request"/> (with <c>\r\n</c> line ends), optionally half-closes the connection, and reads
    /// until the response is complete (Content-Length), the server closes, or 10 s pass.
    /// </summary>
    public static async Task<Response> SendAsync(Uri address, string request, bool halfClose = false)
    {
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(address.Host, address.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        if (halfClose)
        {
            tcp.Client.Shutdown(SocketShutdown.Send);
        }

        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var received = new MemoryStream();
        var buffer = new byte[16384];
        try
        {
            while (!IsComplete(received.ToArray()))
            {
                var read = await stream.ReadAsync(buffer, timeout.Token);
                if (read == 0)
                {
                    break;
                }

                received.Write(buffer, 0, read);
            }
        }
        catch (IOException)
        {
            // The server may reset the connection after its answer (an unread body): what arrived is the answer.
        }

        return Parse(Encoding.UTF8.GetString(received.ToArray()));
    }

    private static bool IsComplete(byte[] received)
    {
        var text = Encoding.ASCII.GetString(received);
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        if (end < 0)
        {
            return false;
        }

        var headers = Parse(text[..(end + 4)]).Headers;
        if (headers.TryGetValue("transfer-encoding", out var coding) && coding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            return text.EndsWith("0\r\n\r\n", StringComparison.Ordinal);
        }

        var length = headers.TryGetValue("content-length", out var value) ? int.Parse(value) : int.MaxValue;
        return received.Length - end - 4 >= length;
    }

    private static string Dechunk(string body)
    {
        var decoded = new System.Text.StringBuilder();
        var at = 0;
        while (at < body.Length)
        {
            var line = body.IndexOf("\r\n", at, StringComparison.Ordinal);
            if (line < 0 || !int.TryParse(body.AsSpan(at, line - at).ToString().Split(';')[0], System.Globalization.NumberStyles.HexNumber, null, out var size) || size == 0)
            {
                break;
            }

            decoded.Append(body, line + 2, Math.Min(size, body.Length - line - 2));
            at = line + 2 + size + 2;
        }

        return decoded.ToString();
    }

    private static Response Parse(string text)
    {
        var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
        var head = end < 0 ? text : text[..end];
        var lines = head.Split("\r\n");
        var status = lines[0].Split(' ') is [_, var code, ..] && int.TryParse(code, out var parsed) ? parsed : 0;
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':');
            if (colon > 0)
            {
                headers[line[..colon].Trim().ToLowerInvariant()] = line[(colon + 1)..].Trim();
            }
        }

        var body = end < 0 ? string.Empty : text[(end + 4)..];
        if (headers.TryGetValue("transfer-encoding", out var coding) && coding.Contains("chunked", StringComparison.OrdinalIgnoreCase))
        {
            body = Dechunk(body);
        }

        return new Response(status, headers, body);
    }
}
