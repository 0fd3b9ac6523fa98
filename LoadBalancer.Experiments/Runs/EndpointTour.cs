using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;

namespace LoadBalancer.Experiments.Runs;

/// <summary>One call of the <see cref="EndpointTour"/>: what was sent, what came back, and whether it had the expected shape.</summary>
/// <param name="Endpoint">The endpoint, e.g. <c>POST /add</c>.</param>
/// <param name="Request">What was sent (path and body; the key is never shown).</param>
/// <param name="Expected">The expected answer in words.</param>
/// <param name="Status">The status code, or 0 when no answer came.</param>
/// <param name="Reply">The reply body, or the error when no answer came.</param>
/// <param name="Passed">True when status and body had the expected shape.</param>
public sealed record EndpointCall(string Endpoint, string Request, string Expected, int Status, string Reply, bool Passed);

/// <summary>
/// A-3's tour of every endpoint through the proxy: <c>/home</c> and <c>/heartbeat</c> (forwarded to a server),
/// <c>/rep</c>, <c>/rm</c> and <c>/add</c> (a member taken out and brought back, by name and by count alone), the
/// assignment's two 400s of <c>/add</c> and <c>/rm</c>, an admin call without the key, and an unknown path; where the
/// proxy can start servers, also the assignment's own <c>/add</c> of <c>S5</c> and <c>S4</c> and their removal. Each
/// answer is checked against the assignment's shapes; the ring ends as it started.
/// </summary>
/// <param name="client">A client whose base address is the proxy (a loopback address).</param>
/// <param name="adminKey">The proxy's admin key, or null when it has none (then it accepts loopback callers).</param>
/// <param name="startsServers">Whether the proxy starts servers for <c>/add</c> (an engine runs them: the AppHost's pool).</param>
public sealed class EndpointTour(HttpClient client, string? adminKey, bool startsServers = false)
{
    /// <summary>The assignment's error when <c>/add</c> names more hostnames than <c>n</c>.</summary>
    public const string TooManyToAdd = "<Error> Length of hostname list is more than newly added instances";

    /// <summary>The assignment's error when <c>/rm</c> names more hostnames than <c>n</c>.</summary>
    public const string TooManyToRemove = "<Error> Length of hostname list is more than removable instances";

    /// <summary>The path the tour sends to show an unknown path's answer.</summary>
    public const string UnknownPath = "/other";

    private const int ReplyShown = 110;
    private const string Id = "123456";

    /// <summary>Calls every endpoint in turn; <paramref name="servers"/> are the ring's members before (and after) the tour.</summary>
    public async Task<IReadOnlyList<EndpointCall>> RunAsync(IReadOnlyList<string> servers, CancellationToken cancellationToken)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(servers.Count, 2);
        var all = servers.Order(StringComparer.Ordinal).ToArray();
        var last = all[^1];
        var calls = new List<EndpointCall>
        {
            await CallAsync(HttpMethod.Get, $"/home?id={Id}", null, null, "200, `Hello from Server: <id>`, `X-Upstream-Server` a member",
                (status, body, upstream) => status == 200 && upstream is not null && all.Contains(upstream)
                    && Message(body) is { } m && m.StartsWith("Hello from Server: ", StringComparison.Ordinal) && Status(body) == "successful",
                cancellationToken).ConfigureAwait(false),
            await CallAsync(HttpMethod.Get, $"/heartbeat?id={Id}", null, null, "200, empty body (a server's)",
                (status, body, upstream) => status == 200 && body.Length == 0 && upstream is not null && all.Contains(upstream), cancellationToken).ConfigureAwait(false),
            await AdminAsync(HttpMethod.Get, "/rep", null, $"200, N={all.Length}", Replicas(all), cancellationToken).ConfigureAwait(false),
        };

        if (adminKey is not null)
        {
            calls.Add(await CallAsync(HttpMethod.Get, "/rep", null, null, "401: no `Authorization: Bearer <key>`",
                (status, body, _) => status == 401 && Status(body) == "failure", cancellationToken).ConfigureAwait(false));
        }

        if (startsServers)
        {
            var grown = all.Append("S4").Append("S5").Order(StringComparer.Ordinal).ToArray();
            calls.Add(await AdminAsync(HttpMethod.Post, "/add", """{"n":2,"hostnames":["S5","S4"]}""", $"200, N={grown.Length}: S5 and S4 started", Replicas(grown), cancellationToken).ConfigureAwait(false));
            calls.Add(await AdminAsync(HttpMethod.Delete, "/rm", """{"n":2,"hostnames":["S5","S4"]}""", $"200, N={all.Length}: S5 and S4 stopped", Replicas(all), cancellationToken).ConfigureAwait(false));
        }

        var others = all[..^1];
        calls.Add(await AdminAsync(HttpMethod.Delete, "/rm", $$"""{"n":1,"hostnames":["{{last}}"]}""", $"200, N={others.Length} without {last}", Replicas(others), cancellationToken).ConfigureAwait(false));
        calls.Add(await AdminAsync(HttpMethod.Post, "/add", $$"""{"n":1,"hostnames":["{{last}}"]}""", $"200, N={all.Length} with {last} again", Replicas(all), cancellationToken).ConfigureAwait(false));
        calls.Add(await AdminAsync(HttpMethod.Delete, "/rm", """{"n":1}""", $"200, N={others.Length}: one member at random", RandomlyOneLess(all), cancellationToken).ConfigureAwait(false));
        calls.Add(await AdminAsync(HttpMethod.Post, "/add", """{"n":1}""", $"200, N={all.Length}: the removed member back", Replicas(all), cancellationToken).ConfigureAwait(false));
        calls.Add(await AdminAsync(HttpMethod.Post, "/add", """{"n":1,"hostnames":["S5","S4"]}""", "400, the assignment's message", Failure(TooManyToAdd), cancellationToken).ConfigureAwait(false));
        calls.Add(await AdminAsync(HttpMethod.Delete, "/rm", $$"""{"n":1,"hostnames":["{{all[0]}}","{{all[1]}}"]}""", "400, the assignment's message", Failure(TooManyToRemove), cancellationToken).ConfigureAwait(false));
        calls.Add(await CallAsync(HttpMethod.Get, UnknownPath, null, null, $"400, `'{UnknownPath}' endpoint does not exist`",
            Failure($"<Error> '{UnknownPath}' endpoint does not exist in server replicas"), cancellationToken).ConfigureAwait(false));
        return calls;
    }

    /// <summary>The calls as a Markdown table.</summary>
    public static string Table(IReadOnlyList<EndpointCall> calls) => Markdown.Table(
        ["endpoint", "request", "expected", "status", "reply", "as expected"],
        calls.Select(c => (IReadOnlyList<string>)[
            c.Endpoint, Code(c.Request), c.Expected, c.Status == 0 ? "–" : c.Status.ToString(System.Globalization.CultureInfo.InvariantCulture),
            c.Reply.Length == 0 ? "(empty)" : Code(Abbreviate(c.Reply)), c.Passed ? "yes" : "**no**"]));

    private Task<EndpointCall> AdminAsync(
        HttpMethod method, string path, string? json, string expected, Func<int, string, string?, bool> check, CancellationToken cancellationToken) =>
        CallAsync(method, path, json, adminKey, expected, check, cancellationToken);

    private async Task<EndpointCall> CallAsync(
        HttpMethod method, string path, string? json, string? key, string expected, Func<int, string, string?, bool> check, CancellationToken cancellationToken)
    {
        var endpoint = $"{method.Method} {path.Split('?')[0]}";
        var shown = path + (json is null ? "" : " " + json);
        using var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8, "application/json");
        }

        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        try
        {
            using var response = await client.SendAsync(request, cancellationToken).ConfigureAwait(false);
            var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
            var upstream = response.Headers.TryGetValues(Load.LoadGenerator.ServerNameHeader, out var values) ? values.FirstOrDefault() : null;
            var status = (int)response.StatusCode;
            return new EndpointCall(endpoint, shown, expected, status, body, check(status, body, upstream));
        }
        catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            // A call that gets no answer is a failed row, not the end of the tour.
            return new EndpointCall(endpoint, shown, expected, 0, ex.GetBaseException().Message, false);
        }
    }

    /// <summary>200 with exactly <paramref name="members"/> as <c>replicas</c> (sorted) and their count as <c>N</c>.</summary>
    private static Func<int, string, string?, bool> Replicas(IReadOnlyList<string> members) =>
        (status, body, _) => status == 200 && ReplicaNames(body) is { } names && names.SequenceEqual(members);

    /// <summary>200 with all but one of <paramref name="members"/>.</summary>
    private static Func<int, string, string?, bool> RandomlyOneLess(IReadOnlyList<string> members) =>
        (status, body, _) => status == 200 && ReplicaNames(body) is { } names
            && names.Count == members.Count - 1 && names.All(members.Contains) && names.Distinct().Count() == names.Count;

    /// <summary>400 with exactly <c>{"message": <paramref name="message"/>, "status": "failure"}</c>.</summary>
    private static Func<int, string, string?, bool> Failure(string message) =>
        (status, body, _) => status == 400 && Message(body) == message && Status(body) == "failure" && Parse(body) is JsonObject { Count: 2 };

    private static IReadOnlyList<string>? ReplicaNames(string body)
    {
        if (Parse(body) is not JsonObject root || Status(body) != "successful" || root["message"] is not JsonObject message
            || message["replicas"] is not JsonArray replicas || message["N"] is not JsonValue n || !n.TryGetValue<int>(out var count)
            || replicas.Any(r => r?.GetValueKind() != System.Text.Json.JsonValueKind.String))
        {
            return null;
        }

        var names = replicas.Select(r => r!.GetValue<string>()).ToArray();
        return count == names.Length ? names : null;
    }

    private static string? Message(string body) => StringField(body, "message");

    private static string? Status(string body) => StringField(body, "status");

    private static string? StringField(string body, string name) =>
        Parse(body) is JsonObject root && root[name] is JsonValue value && value.GetValueKind() == System.Text.Json.JsonValueKind.String ? value.GetValue<string>() : null;

    private static JsonNode? Parse(string body)
    {
        try
        {
            return body.Length == 0 ? null : JsonNode.Parse(body);
        }
        catch (System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static string Abbreviate(string text) => text.Length <= ReplyShown ? text : text[..(ReplyShown - 1)] + "…";

    /// <summary>A code span that survives a table cell: pipes escaped, no line breaks.</summary>
    private static string Code(string text) => $"`{text.Replace("|", "\\|", StringComparison.Ordinal).ReplaceLineEndings(" ")}`";
}
