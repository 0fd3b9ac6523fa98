using System.Text.Json;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Server.Capacity;

/// <summary>Registers the bench-only <see cref="CapacityOptions"/> and, when they are on, the gated <c>/home</c> and <c>/capacity</c>.</summary>
internal static class CapacityEndpoints
{
    /// <summary>The response header naming the server on every gated answer, 503s included, whoever proxies it.</summary>
    public const string ServerIdHeader = "X-Server-Id";

    /// <summary>Binds and validates <see cref="CapacityOptions"/> at start; the gate is built only when a request needs it.</summary>
    public static void AddCapacity(this IServiceCollection services)
    {
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<CapacityOptions>, CapacityOptionsValidator>());
        services.AddOptions<CapacityOptions>().BindConfiguration(CapacityOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<CapacityGate>();
    }

    /// <summary>
    /// With capacity on, <c>/home</c> goes through the <see cref="CapacityGate"/> and <c>GET /capacity</c> (the counters)
    /// and <c>POST /capacity/reset</c> (the counters, then zeroed) are mapped; false when it is off and nothing was mapped.
    /// </summary>
    public static bool MapCapacity(this WebApplication app, string id, byte[] home)
    {
        var options = app.Services.GetRequiredService<IOptions<CapacityOptions>>().Value;
        if (!options.Enabled)
        {
            return false;
        }

        var gate = app.Services.GetRequiredService<CapacityGate>();
        CapacityLog.CapacityOn(app.Logger, options.ServiceTime.TotalMilliseconds, options.ConcurrencyLimit, options.QueueLimit);
        // Both bodies are the same for every request: serialized once.
        var refused = JsonSerializer.SerializeToUtf8Bytes(
            new ServerReply(
                $"Server {id} is at capacity: {options.ConcurrencyLimit} requests served at once and {options.QueueLimit} queued (Capacity:ConcurrencyLimit, Capacity:QueueLimit); try again later",
                "failure"),
            ServerJsonContext.Relaxed.ServerReply);

        app.MapGet("/home", async (HttpContext context) =>
        {
            context.Response.Headers[ServerIdHeader] = id;
            using var admission = await gate.EnterAsync(context.RequestAborted).ConfigureAwait(false);
            var body = admission.Admitted ? home : refused;
            context.Response.StatusCode = admission.Admitted ? StatusCodes.Status200OK : StatusCodes.Status503ServiceUnavailable;
            await ServerEndpoints.WriteHomeAsync(context.Response, body).ConfigureAwait(false);
        });

        app.MapGet("/capacity", () => Results.Json(gate.Read(), CapacityJsonContext.Default.CapacityStats));
        app.MapPost("/capacity/reset", () => Results.Json(gate.ReadAndReset(), CapacityJsonContext.Default.CapacityStats));
        return true;
    }
}

[System.Text.Json.Serialization.JsonSerializable(typeof(CapacityStats))]
internal sealed partial class CapacityJsonContext : System.Text.Json.Serialization.JsonSerializerContext;

internal static partial class CapacityLog
{
    [LoggerMessage(2, LogLevel.Warning, "Bench-only capacity model on: {ServiceTimeMs} ms per /home request, {ConcurrencyLimit} at once (0: no limit), {QueueLimit} queued, 503 beyond.")]
    public static partial void CapacityOn(ILogger logger, double serviceTimeMs, int concurrencyLimit, int queueLimit);
}
