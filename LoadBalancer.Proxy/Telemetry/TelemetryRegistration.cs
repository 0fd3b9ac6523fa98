using Microsoft.Extensions.Options;
using OpenTelemetry.Trace;

namespace LoadBalancer.Proxy.Telemetry;

/// <summary>What the proxy records: traces and metrics of every attempt, the access log, Prometheus, the ring page.</summary>
internal static class TelemetryRegistration
{
    /// <summary>
    /// Registers the proxy's telemetry. <paramref name="configuration"/> is read here because the Prometheus exporter
    /// joins the meter provider before the container is built (see <see cref="PrometheusEndpoint"/>).
    /// </summary>
    public static IServiceCollection AddProxyTelemetry(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<TelemetryOptions>(TelemetryOptions.SectionName);
        // Injected where it records (ProxyRequestHandler calls it for every attempt); not an IForwardingAttemptObserver,
        // which is for telemetry of others beside it.
        services.AddSingleton<ProxyTelemetry>();
        services.AddAccessLog();
        services.AddPrometheusEndpoint(configuration);
        // Applies to whichever tracer provider the host builds (ServiceDefaults' or a test's); none is built here.
        services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.SetSampler(sp => TraceSampling.Create(
            sp.GetRequiredService<IConfiguration>(),
            sp.GetRequiredService<IOptions<TelemetryOptions>>().Value.TraceSampleRatio,
            sp.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(TraceSampling)))));
        return services;
    }
}
