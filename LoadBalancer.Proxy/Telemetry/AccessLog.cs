using Microsoft.AspNetCore.HttpLogging;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Telemetry;

/// <summary>
/// The access log (<see cref="TelemetryOptions.AccessLog"/>): one structured log entry per request through ASP.NET Core's
/// HTTP logging, with what nginx's and HAProxy's access logs carry (client, method, path, status, duration) plus the
/// server that answered. Off by default: a log entry per request costs far more than the request's spans.
/// </summary>
internal static class AccessLog
{
    /// <summary>The logger category the entries are written under, at Information.</summary>
    public const string Category = "Microsoft.AspNetCore.HttpLogging.HttpLoggingMiddleware";

    /// <summary>Registers HTTP logging with the access log's fields; nothing is logged unless <see cref="UseAccessLog"/> adds the middleware.</summary>
    public static IServiceCollection AddAccessLog(this IServiceCollection services)
    {
        services.AddHttpLogging(options =>
        {
            // The query is left out: it carries the routing key, which may be personal data (see IncludeRoutingKey).
            // Headers are left out too: HTTP logging would list every header, redacting all but the chosen ones.
            options.LoggingFields = HttpLoggingFields.RequestMethod | HttpLoggingFields.RequestPath | HttpLoggingFields.RequestProtocol
                | HttpLoggingFields.ResponseStatusCode | HttpLoggingFields.Duration;
            options.CombineLogs = true;
        });
        services.AddSingleton<IHttpLoggingInterceptor, ClientAndServerInterceptor>();
        // Turning the access log on is enough: its entries are let through whatever level "Microsoft.AspNetCore" has.
        services.AddOptions<LoggerFilterOptions>().Configure<IOptions<TelemetryOptions>>((filter, telemetry) =>
        {
            if (telemetry.Value.AccessLog)
            {
                filter.Rules.Add(new LoggerFilterRule(null, Category, LogLevel.Information, null));
            }
        });
        return services;
    }

    /// <summary>Adds the middleware when <see cref="TelemetryOptions.AccessLog"/> is on.</summary>
    public static WebApplication UseAccessLog(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<TelemetryOptions>>().Value.AccessLog)
        {
            app.UseHttpLogging();
        }

        return app;
    }

    /// <summary>Adds the client's address and the server that answered, which HTTP logging has no fields for.</summary>
    private sealed class ClientAndServerInterceptor : IHttpLoggingInterceptor
    {
        public ValueTask OnRequestAsync(HttpLoggingInterceptorContext logContext)
        {
            logContext.AddParameter("ClientAddress", logContext.HttpContext.Connection.RemoteIpAddress?.ToString());
            return ValueTask.CompletedTask;
        }

        public ValueTask OnResponseAsync(HttpLoggingInterceptorContext logContext)
        {
            var server = logContext.HttpContext.Response.Headers[Forwarding.ProxyRequestHandler.ServerNameHeader];
            logContext.AddParameter("BackendServer", server.Count == 0 ? "-" : server.ToString());
            return ValueTask.CompletedTask;
        }
    }
}
