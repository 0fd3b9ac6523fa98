using System.Net.Sockets;
using System.Text;

namespace LoadBalancer.Tests.Infrastructure;

/// <summary>One HTTP/1.x message as it went over the wire: the head (start line and field lines, up to and with the blank line) and the body.</summary>
public sealed record RawHttpMessage(string Head, byte[] Body)
{
    /// <summary>The start line: <c>GET /x HTTP/1.1</c> or <c>HTTP/1.1 200 OK</c>.</summary>
    public string StartLine => Head[..Head.IndexOf("\r\n", StringComparison.Ordinal)];

    /// <summary>The status code of a response.</summary>
    public int StatusCode => int.Parse(StartLine.Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The field lines, as sent.</summary>
    public string[] FieldLines => Head.Split("\r\n").Skip(1).Where(line => line.Length > 0).ToArray();

    /// <summary>The value of every field line named <paramref name="name"/> (case-insensitive), in order, trimmed.</summary>
    public string[] Values(string name) => FieldLines
        .Where(line => line.Length > name.Length && line[name.Length] == ':' && line.StartsWith(name, StringComparison.OrdinalIgnoreCase))
        .Select(line => line[(name.Length + 1)..].Trim(' ', '\t'))
        .ToArray();

    /// <summary>The body as UTF-8 text.</summary>
    public string BodyText => Encoding.UTF8.GetString(Body);
}

/// <summary>Reads HTTP/1.x messages off a stream, framed by Content-Length or chunked encoding (or, for a response, by the close).</summary>
public sealed class RawHttpReader(Stream stream)
{
    private readonly byte[] _buffer = new byte[64 * 1024];
    private int _start;
    private int _end;

    /// <summary>The next message, or null when the peer closed before sending one.</summary>
    public async Task<RawHttpMessage?> ReadAsync(bool isResponse, CancellationToken cancellationToken)
    {
        int headEnd;
        while ((headEnd = IndexOfHeadEnd()) < 0)
        {
            if (!await FillAsync(cancellationToken))
            {
                return _end > _start ? throw new IOException("The peer closed in the middle of a message head.") : null;
            }
        }

        var head = Encoding.Latin1.GetString(_buffer, _start, headEnd + 4 - _start);
        _start = headEnd + 4;
        var message = new RawHttpMessage(head, []);
        var contentLength = message.Values("Content-Length");
        byte[] body;
        if (message.Values("Transfer-Encoding").Any(v => v.Contains("chunked", StringComparison.OrdinalIgnoreCase)))
        {
            body = await ReadChunkedAsync(cancellationToken);
        }
        else if (contentLength.Length > 0)
        {
            body = await ReadExactlyAsync(int.Parse(contentLength[0], System.Globalization.CultureInfo.InvariantCulture), cancellationToken);
        }
        else if (isResponse && !IsBodyless(message.StatusCode))
        {
            body = await ReadToCloseAsync(cancellationToken);
        }
        else
        {
            body = [];
        }

        return message with { Body = body };
    }

    private static bool IsBodyless(int status) => status is (>= 100 and < 200) or 204 or 304;

    private int IndexOfHeadEnd()
    {
        var index = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n\r\n"u8);
        return index < 0 ? -1 : _start + index;
    }

    private async Task<bool> FillAsync(CancellationToken cancellationToken)
    {
        if (_start > 0)
        {
            Buffer.BlockCopy(_buffer, _start, _buffer, 0, _end - _start);
            _end -= _start;
            _start = 0;
        }

        if (_end == _buffer.Length)
        {
            throw new IOException("A message head larger than the test buffer.");
        }

        var read = await stream.ReadAsync(_buffer.AsMemory(_end), cancellationToken);
        _end += read;
        return read > 0;
    }

    private async Task<byte[]> ReadExactlyAsync(int count, CancellationToken cancellationToken)
    {
        var result = new byte[count];
        var copied = 0;
        while (copied < count)
        {
            if (_start == _end && !await FillAsync(cancellationToken))
            {
                throw new IOException("The peer closed in the middle of a body.");
            }

            var take = Math.Min(count - copied, _end - _start);
            Buffer.BlockCopy(_buffer, _start, result, copied, take);
            _start += take;
            copied += take;
        }

        return result;
    }

    private async Task<string> ReadLineAsync(CancellationToken cancellationToken)
    {
        int index;
        while ((index = _buffer.AsSpan(_start, _end - _start).IndexOf("\r\n"u8)) < 0)
        {
            if (!await FillAsync(cancellationToken))
            {
                throw new IOException("The peer closed in the middle of a chunked body.");
            }
        }

        var line = Encoding.Latin1.GetString(_buffer, _start, index);
        _start += index + 2;
        return line;
    }

    private async Task<byte[]> ReadChunkedAsync(CancellationToken cancellationToken)
    {
        using var body = new MemoryStream();
        while (true)
        {
            var size = Convert.ToInt32(((await ReadLineAsync(cancellationToken)).Split(';')[0]).Trim(), 16);
            if (size == 0)
            {
                // Trailers, then the blank line.
                while ((await ReadLineAsync(cancellationToken)).Length > 0)
                {
                }

                return body.ToArray();
            }

            body.Write(await ReadExactlyAsync(size, cancellationToken));
            await ReadLineAsync(cancellationToken);
        }
    }

    private async Task<byte[]> ReadToCloseAsync(CancellationToken cancellationToken)
    {
        while (await FillAsync(cancellationToken))
        {
        }

        var rest = _buffer.AsSpan(_start, _end - _start).ToArray();
        _start = _end;
        return rest;
    }
}

/// <summary>
/// A client that sends exactly the bytes a test wrote (HttpClient cannot send an empty Host, <c>OPTIONS *</c> or an
/// absolute-form target) and reads the answer.
/// </summary>
public static class RawHttpClient
{
    /// <summary>Sends <paramref name="request"/> (CRLFs included) to <paramref name="server"/> on a new connection and reads one response.</summary>
    public static async Task<RawHttpMessage> SendAsync(Uri server, string request, CancellationToken cancellationToken = default)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        using var client = new TcpClient();
        await client.ConnectAsync(server.Host, server.Port, timeout.Token);
        var stream = client.GetStream();
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request), timeout.Token);
        return await new RawHttpReader(stream).ReadAsync(isResponse: true, timeout.Token)
            ?? throw new IOException("The server closed the connection without answering.");
    }
}
