using OpenTelemetry.Metrics;

namespace LoadBalancer.Proxy.Telemetry;

/// <summary>
/// A Prometheus scrape endpoint for the proxy's metrics (<see cref="TelemetryOptions.PrometheusPath"/>), through
/// OpenTelemetry's Prometheus exporter: what HAProxy's and Envoy's built-in Prometheus pages give their operators.
/// Off by default: under Aspire the metrics reach the dashboard over OTLP.
/// </summary>
internal static class PrometheusEndpoint
{
    /// <summary>
    /// Adds the exporter when the path is configured. Read from configuration here, not from options, because the
    /// meter provider is composed before the container is built; a second metric reader costs a second aggregation of
    /// every measurement, so it is not added unless asked for.
    /// </summary>
    public static IServiceCollection AddPrometheusEndpoint(this IServiceCollection services, IConfiguration configuration)
    {
        if (!string.IsNullOrEmpty(PathFrom(configuration)))
        {
            services.AddOpenTelemetry().WithMetrics(metrics => metrics
                .AddMeter(ProxyApplication.TelemetryName)
                .AddPrometheusExporter());
        }

        return services;
    }

    /// <summary>Maps the scrape endpoint when the path is configured.</summary>
    public static WebApplication MapPrometheusEndpoint(this WebApplication app)
    {
        if (PathFrom(app.Configuration) is { Length: > 0 } path)
        {
            app.MapPrometheusScrapingEndpoint(path);
        }

        return app;
    }

    private static string? PathFrom(IConfiguration configuration) =>
        configuration[$"{TelemetryOptions.SectionName}:{nameof(TelemetryOptions.PrometheusPath)}"];
}
