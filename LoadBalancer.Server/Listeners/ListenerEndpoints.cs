using System.Net;
using LoadBalancer.Server.Capacity;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;

namespace LoadBalancer.Server.Listeners;

/// <summary>Registers the bench-only <see cref="ListenersOptions"/> and, when they are on, one listener per server.</summary>
internal static class ListenerEndpoints
{
    /// <summary>Binds and validates <see cref="ListenersOptions"/> at start; with them on, Kestrel listens on each port.</summary>
    public static void AddListeners(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<ListenersOptions>, ListenersOptionsValidator>());
        services.AddOptions<ListenersOptions>().BindConfiguration(ListenersOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        // Listening explicitly makes Kestrel ignore ASPNETCORE_URLS: the listeners are then the process's only addresses.
        services.AddOptions<KestrelServerOptions>().Configure<IOptions<ListenersOptions>>((kestrel, listeners) =>
        {
            var options = listeners.Value;
            for (var i = 0; i < options.Count; i++)
            {
                kestrel.Listen(IPAddress.Loopback, options.FirstPort + i);
            }
        });
    }

    /// <summary>
    /// With listeners on, <c>/home</c> and <c>/heartbeat</c> answer as the server whose port the connection came in on
    /// (the id in <c>/home</c>'s message and in <c>X-Server-Id</c> on both); false when they are off and nothing was mapped.
    /// </summary>
    public static bool MapListeners(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<ListenersOptions>>().Value;
        if (!options.Enabled)
        {
            return false;
        }

        ListenersLog.ListenersOn(app.Logger, options.Count, ListenersOptions.IdOf(0), ListenersOptions.IdOf(options.Count - 1),
            options.FirstPort, options.FirstPort + options.Count - 1);
        // Each listener's answer is the same for every request: serialized once, indexed by the local port.
        var ids = new StringValues[options.Count];
        var homes = new byte[options.Count][];
        for (var i = 0; i < options.Count; i++)
        {
            var id = ListenersOptions.IdOf(i);
            ids[i] = id;
            homes[i] = ServerEndpoints.HomeBody(id);
        }

        // Only the listeners are bound, so every connection's local port is one of theirs.
        int IndexOf(HttpContext context) => context.Connection.LocalPort - options.FirstPort;

        app.MapGet("/home", (HttpContext context) =>
        {
            var index = IndexOf(context);
            context.Response.Headers[CapacityEndpoints.ServerIdHeader] = ids[index];
            return ServerEndpoints.WriteHomeAsync(context.Response, homes[index]);
        });
        app.MapGet("/heartbeat", (HttpContext context) =>
        {
            context.Response.Headers[CapacityEndpoints.ServerIdHeader] = ids[IndexOf(context)];
            return Results.Ok();
        });
        return true;
    }
}

internal static partial class ListenersLog
{
    [LoggerMessage(3, LogLevel.Warning, "Bench-only listeners on: {Count} servers, {FirstId} … {LastId} on 127.0.0.1:{FirstPort} … {LastPort}; ASPNETCORE_URLS is not used.")]
    public static partial void ListenersOn(ILogger logger, int count, string firstId, string lastId, int firstPort, int lastPort);
}
