using System.Buffers;
using System.Text.Json;
using LoadBalancer.Proxy.Membership;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;

namespace LoadBalancer.Proxy.Admin;

/// <summary>
/// Reads and checks the body of <c>/add</c> and <c>/rm</c>: content type, size (before reading it whole), JSON shape,
/// types, unknown or repeated fields, <c>n</c>'s range, and each hostname. Throws <see cref="AdminFailureException"/>.
/// </summary>
public sealed class AdminRequestReader(IOptions<AdminOptions> options)
{
    /// <summary>The longest hostname accepted (a URL longer than this is no server address).</summary>
    public const int MaxHostnameLength = 2048;

    private static readonly JsonDocumentOptions DocumentOptions = new() { MaxDepth = 8 };
    private readonly AdminOptions _options = options.Value;

    /// <summary>
    /// Reads the change in <paramref name="request"/>; <paramref name="tooManyHostnames"/> is the assignment's error for
    /// a hostname list longer than <c>n</c>.
    /// </summary>
    public async Task<AdminChange> ReadAsync(HttpRequest request, string tooManyHostnames)
    {
        CheckContentType(request.ContentType);
        var body = await ReadBodyAsync(request).ConfigureAwait(false);
        return Parse(body, tooManyHostnames);
    }

    /// <summary>Parses and checks a body already read.</summary>
    public AdminChange Parse(ReadOnlyMemory<byte> body, string tooManyHostnames)
    {
        var parsed = Deserialize(body);
        if (parsed.N is not { } n)
        {
            throw BadRequest("<Error> 'n' is required: the number of instances");
        }

        if (n < 1 || n > _options.MaxInstances)
        {
            throw BadRequest($"<Error> 'n' must be an integer from 1 to {_options.MaxInstances}, got {n}");
        }

        var hostnames = parsed.Hostnames ?? [];
        if (hostnames.Count > n)
        {
            throw BadRequest(tooManyHostnames);
        }

        var targets = new List<ServerReference>(hostnames.Count);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var hostname in hostnames)
        {
            if (string.IsNullOrWhiteSpace(hostname) || hostname.Length > MaxHostnameLength)
            {
                throw BadRequest($"<Error> Each hostname must be a non-empty string of at most {MaxHostnameLength} characters");
            }

            if (!seen.Add(hostname))
            {
                throw BadRequest($"<Error> Hostname '{hostname}' is given twice");
            }

            targets.Add(ToReference(hostname));
        }

        return new AdminChange(n, targets);
    }

    /// <summary>
    /// A hostname is an absolute http(s) address (the server is named after its authority, e.g. <c>127.0.0.1:6001</c>)
    /// or a server name (which may hold a colon: servers added by address are named <c>host:port</c>); anything else with
    /// a scheme or path is refused.
    /// </summary>
    public static ServerReference ToReference(string hostname)
    {
        if (Uri.TryCreate(hostname, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps))
        {
            if (uri.Host.Length == 0 || uri.UserInfo.Length > 0 || uri.Query.Length > 0 || uri.Fragment.Length > 0)
            {
                throw BadRequest($"<Error> '{hostname}' is not a server address: use scheme://host[:port][/path] without user, query or fragment");
            }

            if (uri.Port == 0)
            {
                // Port 0 means "any free port" to a listener; as a destination it reaches nothing (or, bound, this proxy).
                throw BadRequest($"<Error> '{hostname}' has port 0, which no server can be reached on");
            }

            return new ServerReference(hostname, uri.Authority, new Uri(uri.GetLeftPart(UriPartial.Path)));
        }

        if (hostname.AsSpan().IndexOfAny("/\\?@ \t\r\n") >= 0)
        {
            throw BadRequest($"<Error> '{hostname}' is neither a server name nor an absolute http(s) address");
        }

        return new ServerReference(hostname, hostname, null);
    }

    private static void CheckContentType(string? contentType)
    {
        if (!MediaTypeHeaderValue.TryParse(contentType, out var mediaType)
            || !(mediaType.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase)
                || mediaType.Suffix.Equals("json", StringComparison.OrdinalIgnoreCase))
            || (mediaType.Charset.HasValue && !mediaType.Charset.Equals("utf-8", StringComparison.OrdinalIgnoreCase)))
        {
            throw new AdminFailureException(StatusCodes.Status415UnsupportedMediaType,
                $"<Error> Content-Type must be application/json (UTF-8), got '{contentType}'");
        }
    }

    private async Task<ReadOnlyMemory<byte>> ReadBodyAsync(HttpRequest request)
    {
        var limit = _options.MaxBodyBytes;
        if (request.ContentLength > limit)
        {
            throw TooLarge(limit);
        }

        // Read at most limit + 1 bytes whatever the framing (chunked bodies carry no length): one byte over is enough to refuse.
        var buffer = new byte[Math.Min(limit + 1, (int)(request.ContentLength ?? limit + 1))];
        var length = 0;
        var chunk = ArrayPool<byte>.Shared.Rent(4096);
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(chunk, request.HttpContext.RequestAborted).ConfigureAwait(false)) > 0)
            {
                if (length + read > limit)
                {
                    throw TooLarge(limit);
                }

                if (length + read > buffer.Length)
                {
                    // A client sent more than its Content-Length said; Kestrel refuses that itself, other servers may not.
                    Array.Resize(ref buffer, Math.Min(limit + 1, Math.Max(buffer.Length * 2, length + read)));
                }

                chunk.AsSpan(0, read).CopyTo(buffer.AsSpan(length));
                length += read;
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(chunk);
        }

        return buffer.AsMemory(0, length);
    }

    private static AdminChangeRequest Deserialize(ReadOnlyMemory<byte> body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, DocumentOptions);
        }
        catch (JsonException ex)
        {
            throw BadRequest($"<Error> The body is not valid JSON (line {ex.LineNumber + 1}, byte {ex.BytePositionInLine + 1})");
        }

        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                throw BadRequest("<Error> The body must be a JSON object such as {\"n\":1,\"hostnames\":[\"server1\"]}");
            }

            // Checked here rather than left to the serializer, so the answer names the field.
            var fields = new HashSet<string>(StringComparer.Ordinal);
            foreach (var property in root.EnumerateObject())
            {
                if (property.Name is not ("n" or "hostnames"))
                {
                    throw BadRequest($"<Error> Unknown field '{property.Name}': only 'n' and 'hostnames' are accepted");
                }

                if (!fields.Add(property.Name))
                {
                    throw BadRequest($"<Error> Field '{property.Name}' is given twice");
                }
            }

            try
            {
                return root.Deserialize(AdminJsonContext.Default.AdminChangeRequest)!;
            }
            catch (JsonException ex)
            {
                throw BadRequest(ex.Path is { } path && path.StartsWith("$.hostnames", StringComparison.Ordinal)
                    ? "<Error> 'hostnames' must be a list of strings"
                    : "<Error> 'n' must be an integer");
            }
        }
    }

    private static AdminFailureException BadRequest(string message) => new(StatusCodes.Status400BadRequest, message);

    private static AdminFailureException TooLarge(int limit) =>
        new(StatusCodes.Status413PayloadTooLarge, $"<Error> The body is larger than {limit} bytes");
}
