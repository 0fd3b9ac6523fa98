using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Logging;
using OpenTelemetry;
using OpenTelemetry.Metrics;
using OpenTelemetry.Trace;

namespace Microsoft.Extensions.Hosting;

/// <summary>
/// Service defaults shared by every LoadBalancer service: telemetry and health endpoints. Unlike the Aspire template,
/// no service discovery: no service here calls another through <c>HttpClient</c> by name (the servers call nobody; the
/// proxy resolves its members itself and sends with its own invoker), so the proxy registers it for its membership.
/// </summary>
public static class ServiceDefaultsExtensions
{
    /// <summary>Path of the readiness endpoint (all health checks).</summary>
    public const string HealthEndpointPath = "/health";

    /// <summary>Path of the liveness endpoint (checks tagged "live").</summary>
    public const string AlivenessEndpointPath = "/alive";

    /// <summary>Adds OpenTelemetry and the default health checks.</summary>
    /// <param name="builder">The host builder.</param>
    /// <param name="meters">Extra meter names to export (a custom <c>Meter</c> is invisible otherwise).</param>
    /// <param name="activitySources">Extra activity source names to export.</param>
    public static TBuilder AddServiceDefaults<TBuilder>(this TBuilder builder, string[]? meters = null, string[]? activitySources = null)
        where TBuilder : IHostApplicationBuilder
    {
        builder.ConfigureOpenTelemetry(meters ?? [], activitySources ?? []);
        builder.AddDefaultHealthChecks();

        // Deliberately no AddStandardResilienceHandler here: it shares one circuit breaker across all
        // hosts (dotnet/extensions #5021), and the proxy keeps its own per-server breakers.
        return builder;
    }

    /// <summary>Configures logging, tracing and metrics, exported over OTLP when an endpoint is configured.</summary>
    public static TBuilder ConfigureOpenTelemetry<TBuilder>(this TBuilder builder, string[] meters, string[] activitySources)
        where TBuilder : IHostApplicationBuilder
    {
        builder.Logging.AddOpenTelemetry(logging =>
        {
            logging.IncludeFormattedMessage = true;
            logging.IncludeScopes = true;
        });

        builder.Services.AddOpenTelemetry()
            .WithMetrics(metrics => metrics
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddRuntimeInstrumentation()
                .AddMeter(meters))
            .WithTracing(tracing => tracing
                .AddSource(builder.Environment.ApplicationName)
                .AddSource(activitySources)
                .AddAspNetCoreInstrumentation(aspnet =>
                    // Health probes would drown the request traces in the dashboard.
                    aspnet.Filter = context => !IsHealthPath(context.Request.Path))
                .AddHttpClientInstrumentation());

        if (!string.IsNullOrWhiteSpace(builder.Configuration["OTEL_EXPORTER_OTLP_ENDPOINT"]))
        {
            builder.Services.AddOpenTelemetry().UseOtlpExporter();
        }

        return builder;
    }

    /// <summary>Adds a liveness check tagged "live".</summary>
    public static TBuilder AddDefaultHealthChecks<TBuilder>(this TBuilder builder)
        where TBuilder : IHostApplicationBuilder
    {
        builder.Services.AddHealthChecks()
            .AddCheck("self", () => HealthCheckResult.Healthy(), ["live"]);
        return builder;
    }

    /// <summary>
    /// Maps <c>/health</c> and <c>/alive</c>. Unlike the template, in every environment: containers and
    /// the proxy's own probes need them outside Development too.
    /// </summary>
    public static WebApplication MapDefaultEndpoints(this WebApplication app, HealthCheckOptions? healthOptions = null)
    {
        app.MapHealthChecks(HealthEndpointPath, healthOptions ?? new HealthCheckOptions());
        app.MapHealthChecks(AlivenessEndpointPath, new HealthCheckOptions
        {
            Predicate = registration => registration.Tags.Contains("live"),
        });
        return app;
    }

    private static bool IsHealthPath(Microsoft.AspNetCore.Http.PathString path) =>
        path.StartsWithSegments(HealthEndpointPath) || path.StartsWithSegments(AlivenessEndpointPath) ||
        path.StartsWithSegments("/heartbeat");
}
