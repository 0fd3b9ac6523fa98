using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;

namespace LoadBalancer.AppHost;

/// <summary>
/// Dashboard commands on each server: remove it and add it back, through the proxy's admin API (<c>DELETE /rm</c>,
/// <c>POST /add</c>) with the generated admin key, so an operator can do what a client of the API does without copying
/// the key into curl. Under the AppHost the proxy starts and stops servers through the AppHost's pool, so remove drains
/// the server and stops it, and add starts it again under the same ring name.
/// </summary>
internal static class RingCommands
{
    /// <summary>The command that takes the server out of the ring.</summary>
    public const string Remove = "ring-remove";

    /// <summary>The command that puts it back.</summary>
    public const string Add = "ring-add";

    // Name, label, admin call, what it does, dashboard icon.
    private static readonly (string Name, string Label, HttpMethod Method, string Path, string Description, string Icon)[] Commands =
    [
        (Remove, "Remove (DELETE /rm)", HttpMethod.Delete, "/rm",
            "The proxy drains this server and the AppHost stops it (DELETE /rm); its keys move to the next servers on the ring.", "ArrowExit"),
        (Add, "Add (POST /add)", HttpMethod.Post, "/add",
            "The AppHost starts this server again under its ring name and the proxy routes to it once healthy (POST /add); exactly the keys it had come back.", "ArrowEnter"),
    ];

    /// <summary>Adds both commands to <paramref name="server"/>.</summary>
    public static IResourceBuilder<ProjectResource> WithRingCommands(
        this IResourceBuilder<ProjectResource> server, EndpointReference proxyEndpoint, ParameterResource adminKey, Func<string, string> ringName)
    {
        var resource = server.Resource.Name;
        foreach (var command in Commands)
        {
            server.WithCommand(
                command.Name,
                command.Label,
                context => SendAsync(context, proxyEndpoint, adminKey, command.Method, command.Path, ringName(resource)),
                new CommandOptions { Description = command.Description, IconName = command.Icon });
        }

        return server;
    }

    private static async Task<ExecuteCommandResult> SendAsync(
        ExecuteCommandContext context, EndpointReference proxyEndpoint, ParameterResource adminKey, HttpMethod method, string path, string name)
    {
        try
        {
            var key = await adminKey.GetValueAsync(context.CancellationToken);
            using var client = context.Services.GetRequiredService<IHttpClientFactory>().CreateClient();
            using var request = new HttpRequestMessage(method, new Uri(new Uri(proxyEndpoint.Url), path))
            {
                Content = new StringContent(JsonSerializer.Serialize(new { n = 1, hostnames = new[] { name } }), Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
            using var response = await client.SendAsync(request, context.CancellationToken);
            if (response.IsSuccessStatusCode)
            {
                return CommandResults.Success();
            }

            // The admin API says what was wrong in {"message":"<Error> …","status":"failure"}.
            var body = await response.Content.ReadAsStringAsync(context.CancellationToken);
            return CommandResults.Failure($"The proxy answered {(int)response.StatusCode}: {MessageOf(body)}");
        }
        catch (Exception ex) when (ex is HttpRequestException or InvalidOperationException or TaskCanceledException)
        {
            return CommandResults.Failure($"The proxy could not be asked: {ex.Message}");
        }
    }

    private static string MessageOf(string body)
    {
        try
        {
            using var document = JsonDocument.Parse(body);
            return document.RootElement.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.String
                ? message.GetString()!
                : body;
        }
        catch (JsonException)
        {
            return body;
        }
    }
}
