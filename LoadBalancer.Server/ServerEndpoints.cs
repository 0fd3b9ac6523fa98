using System.Text.Encodings.Web;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using LoadBalancer.Server.Capacity;
using LoadBalancer.Server.Listeners;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Server;

/// <summary>The assignment's server contract: <c>/home</c>, <c>/heartbeat</c>, 400 for anything else.</summary>
public static class ServerEndpoints
{
    /// <summary>Binds <see cref="ServerOptions"/>: <c>SERVER_ID</c> (as in the seed) wins over <c>Server:Id</c>.</summary>
    public static IHostApplicationBuilder AddServerOptions(this IHostApplicationBuilder builder)
    {
        builder.Services.AddOptions<ServerOptions>()
            .BindConfiguration(ServerOptions.SectionName)
            .Configure<IConfiguration>((options, configuration) => options.Id = configuration["SERVER_ID"] ?? options.Id)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddCapacity();
        builder.Services.AddListeners();
        // Endpoint defaults reach the addresses bound from ASPNETCORE_URLS too, so the h2c port is picked out there
        // rather than listened on explicitly, which would make Kestrel ignore every configured address.
        builder.Services.AddOptions<KestrelServerOptions>()
            .Configure<IOptions<ServerOptions>>((kestrel, server) =>
            {
                if (server.Value.H2cPort is { } h2cPort)
                {
                    kestrel.ConfigureEndpointDefaults(listen =>
                    {
                        if (listen.IPEndPoint?.Port == h2cPort)
                        {
                            listen.Protocols = HttpProtocols.Http2;
                        }
                    });
                }
            });
        return builder;
    }

    /// <summary>Maps the server's endpoints onto <paramref name="app"/>.</summary>
    public static WebApplication MapServerEndpoints(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<ServerOptions>>().Value;
        if (options.H2cPort is { } h2cPort)
        {
            app.Lifetime.ApplicationStarted.Register(() => WarnIfNotBound(app, h2cPort));
        }

        // The id never changes, so /home's body is serialized once rather than per request.
        var id = options.Id;
        var home = HomeBody(id);

        // The bench-only many listeners map /home and /heartbeat per listener, and the bench-only capacity model its own
        // /home (both off by default, and never both); otherwise /home answers at once.
        if (!app.MapListeners())
        {
            if (!app.MapCapacity(id, home))
            {
                app.MapGet("/home", (HttpContext context) => WriteHomeAsync(context.Response, home));
            }

            app.MapGet("/heartbeat", () => Results.Ok());
        }

        // Every other path and method: the assignment's error, naming the path that was asked for.
        app.Map("{**path}", (HttpContext context) => Results.Json(
            new ServerReply($"<Error> '{context.Request.Path}' endpoint does not exist in server replicas", "failure"),
            ServerJsonContext.Relaxed.ServerReply,
            statusCode: StatusCodes.Status400BadRequest));

        return app;
    }

    /// <summary>/home's answer for server <paramref name="id"/>, serialized once: the id never changes.</summary>
    internal static byte[] HomeBody(string id) => JsonSerializer.SerializeToUtf8Bytes(
        new ServerReply($"Hello from Server: {id}", "successful"), ServerJsonContext.Relaxed.ServerReply);

    /// <summary>Writes a /home answer (or the capacity model's refusal), serialized once.</summary>
    internal static Task WriteHomeAsync(HttpResponse response, byte[] body)
    {
        response.ContentType = "application/json";
        response.ContentLength = body.Length;
        return response.Body.WriteAsync(body).AsTask();
    }

    // Kestrel binds what ASPNETCORE_URLS or HTTP_PORTS name; an H2cPort among none of them leaves no port speaking h2c,
    // and a proxy sent there would only see refused connections, so the server says so at start.
    private static void WarnIfNotBound(WebApplication app, int h2cPort)
    {
        var addresses = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()?.Addresses ?? [];
        if (!addresses.Any(address => BindingAddress.Parse(address).Port == h2cPort))
        {
            ServerLog.H2cPortNotBound(app.Logger, h2cPort, string.Join(", ", addresses));
        }
    }
}

internal static partial class ServerLog
{
    [LoggerMessage(1, LogLevel.Error, "Server:H2cPort is {Port}, but the server listens on {Addresses}: no port speaks h2c. Add the port to ASPNETCORE_URLS or HTTP_PORTS.")]
    public static partial void H2cPortNotBound(ILogger logger, int port, string addresses);
}

/// <summary>The body every server answer carries.</summary>
public sealed record ServerReply(
    [property: JsonPropertyName("message")] string Message,
    [property: JsonPropertyName("status")] string Status);

[JsonSerializable(typeof(ServerReply))]
internal sealed partial class ServerJsonContext : JsonSerializerContext
{
    /// <summary>Writes <c>&lt;Error&gt;</c> and quotes as they are, as the assignment's clients expect to read them.</summary>
    public static ServerJsonContext Relaxed { get; } = new(new JsonSerializerOptions { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
}
