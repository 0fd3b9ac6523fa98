using System.Buffers;
using LoadBalancer.Proxy.Replies;

namespace LoadBalancer.Proxy.Admin;

/// <summary>
/// Keeps the admin paths' "never forwarded" rule for the forms a server might normalise to the same path: a request
/// that routing did not match to <c>/rep</c>, <c>/add</c> or <c>/rm</c> but that a server could take for one of them is
/// answered 400 here and never forwarded.
/// </summary>
/// <remarks>
/// <para>
/// Kestrel already decodes the path (all but <c>%2F</c>) and removes dot segments, and routing matches the admin paths
/// in any letter case and with a trailing slash; what still reaches the forwarder, and what servers are known to fold
/// onto a plain path, is checked here: repeated slashes (<c>//rep</c>, nginx's merge_slashes), path parameters
/// (<c>/rep;x</c>, <c>/x/..;/rep</c>, Tomcat and Jetty), backslashes (<c>/\rep</c>, IIS), trailing dots and blanks
/// (<c>/rep.</c>, Windows names), a <c>?</c> or <c>#</c> that arrived encoded, and one more round of percent-decoding
/// (<c>/%2572ep</c>, <c>/rep%2F</c>) for servers that decode twice.
/// </para>
/// <para>
/// Cheap on the hot path: a path with none of <c>% ; \ . # ? blank tab</c> and no <c>//</c> is exactly what routing saw,
/// so it is passed after one vectorised search; only the others are walked (once, without allocating).
/// </para>
/// </remarks>
internal static partial class AdminPathGuard
{
    private static readonly SearchValues<char> Suspicious = SearchValues.Create("%;\\.#? \t");
    private static readonly string[] Paths = [AdminEndpoints.RepPath, AdminEndpoints.AddPath, AdminEndpoints.RemovePath];
    private static readonly byte[][] Refusals = Paths.Select(path => Reply.SerializeFailure(RefusalMessage(path))).ToArray();
    private const int LongestName = 3;

    /// <summary>The message for a path that could be taken for <paramref name="adminPath"/>.</summary>
    public static string RefusalMessage(string adminPath) =>
        $"<Error> The path could be taken for the admin path {adminPath} by a server, so it is not forwarded; call {adminPath} itself";

    /// <summary>True when a server could read <paramref name="path"/> (as Kestrel decoded it) as an admin path.</summary>
    public static bool LooksLikeAdminPath(string? path, out int adminPath)
    {
        adminPath = -1;
        if (path is null || path.Length < 3 || (path.AsSpan().IndexOfAny(Suspicious) < 0 && !path.Contains("//", StringComparison.Ordinal)))
        {
            return false;
        }

        return Walk(path, out adminPath);
    }

    /// <summary>Answers 400 for a path that could be taken for admin path number <paramref name="adminPath"/> (see <see cref="LooksLikeAdminPath"/>).</summary>
    public static Task WriteRefusalAsync(HttpContext context, int adminPath, ILogger logger)
    {
        LogRefused(logger, context.Request.Path.Value!, Paths[adminPath]);
        context.Response.Clear();
        return Reply.WriteAsync(context, StatusCodes.Status400BadRequest, Refusals[adminPath]);
    }

    /// <summary>
    /// Normalises <paramref name="path"/> as the most lenient server would and tells whether one segment is left that
    /// is an admin path's name. Only the segment at the bottom of the stack matters, so no stack is kept.
    /// </summary>
    private static bool Walk(string path, out int adminPath)
    {
        adminPath = -1;
        Span<char> bottom = stackalloc char[LongestName];
        var bottomLength = -1;
        var depth = 0;
        var segment = default(Segment);
        Span<char> chars = stackalloc char[LongestName];
        for (var i = 0; i <= path.Length;)
        {
            var c = '/';
            if (i < path.Length)
            {
                c = path[i];
                i++;
                if (c == '%' && i + 1 < path.Length && (Hex(path[i]) << 4 | Hex(path[i + 1])) is var decoded and >= 0)
                {
                    // A second round of decoding, for servers that decode again (and take %2F for a slash).
                    c = (char)decoded;
                    i += 2;
                }

                if (c is '?' or '#')
                {
                    // Arrived encoded (Kestrel split off the real query): a server re-parsing the path ends it here.
                    i = path.Length;
                    c = '/';
                }
            }
            else
            {
                i++;
            }

            if (c is not ('/' or '\\'))
            {
                segment.Add(c, chars);
                continue;
            }

            switch (segment.Kind)
            {
                case SegmentKind.Empty or SegmentKind.Current:
                    break;
                case SegmentKind.Parent:
                    depth = Math.Max(0, depth - 1);
                    break;
                default:
                    if (depth == 0)
                    {
                        bottomLength = segment.Kind == SegmentKind.Name && segment.Length <= LongestName ? segment.Length : -1;
                        chars[..Math.Max(0, bottomLength)].CopyTo(bottom);
                    }

                    depth++;
                    break;
            }

            segment = default;
        }

        if (depth != 1 || bottomLength < 0)
        {
            return false;
        }

        for (var n = 0; n < Paths.Length; n++)
        {
            if (bottom[..bottomLength].Equals(Paths[n].AsSpan(1), StringComparison.OrdinalIgnoreCase))
            {
                adminPath = n;
                return true;
            }
        }

        return false;
    }

    private static int Hex(char c) => c switch
    {
        >= '0' and <= '9' => c - '0',
        >= 'a' and <= 'f' => c - 'a' + 10,
        >= 'A' and <= 'F' => c - 'A' + 10,
        _ => -1,
    };

    private enum SegmentKind
    {
        Empty,
        Current,
        Parent,
        Name,
        Other,
    }

    /// <summary>One segment as read so far: its significant characters (up to the longest name) and what trails them.</summary>
    private struct Segment
    {
        private int _significant;
        private int _trailing;
        private int _trailingDots;
        private bool _parameters;
        private bool _other;

        public readonly int Length => _significant;

        public readonly SegmentKind Kind => (_significant, _trailing) switch
        {
            _ when _other => SegmentKind.Other,
            (0, 0) => SegmentKind.Empty,
            // "..": the parent; ".", "...", blanks: trimmed away by Windows-like servers, as good as ".".
            (0, 2) when _trailingDots == 2 => SegmentKind.Parent,
            (0, _) => SegmentKind.Current,
            _ => SegmentKind.Name,
        };

        public void Add(char c, Span<char> chars)
        {
            if (_parameters || _other)
            {
                return;
            }

            if (c == ';')
            {
                // A path parameter: servers that know them drop it from the segment (so "..;" is "..").
                _parameters = true;
                return;
            }

            if (c is '.' or ' ' or '\t')
            {
                _trailing++;
                _trailingDots += c == '.' ? 1 : 0;
                return;
            }

            if (_trailing > 0 || _significant == LongestName)
            {
                // A dot or blank inside the name ("rep.json", " rep"), or a longer name: no admin path.
                _other = true;
                return;
            }

            chars[_significant++] = c;
        }
    }

    [LoggerMessage(EventId = 520, Level = LogLevel.Information,
        Message = "Not forwarded: the path {Path} could be taken for the admin path {AdminPath} by a server")]
    private static partial void LogRefused(ILogger logger, string path, string adminPath);
}
