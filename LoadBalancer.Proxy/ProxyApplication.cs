using LoadBalancer.Proxy.Admin;
using LoadBalancer.Proxy.Connections;
using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Proxy.Health;
using LoadBalancer.Proxy.Membership;
using LoadBalancer.Proxy.RateLimiting;
using LoadBalancer.Proxy.Ring;
using LoadBalancer.Proxy.Telemetry;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;
using OpenTelemetry.Trace;

namespace LoadBalancer.Proxy;

/// <summary>Registers and maps the load balancer; <c>Program</c> and the tests compose the proxy from these two calls.</summary>
public static class ProxyApplication
{
    /// <summary>The name of the proxy's <c>Meter</c> and <c>ActivitySource</c>.</summary>
    public const string TelemetryName = "LoadBalancer.Proxy";

    /// <summary>The log category of YARP's forwarder, whose failure events carry whole exceptions.</summary>
    public const string ForwarderLogCategory = "Yarp.ReverseProxy.Forwarder.HttpForwarder";

    /// <summary>Adds the proxy's services and options to <paramref name="builder"/>.</summary>
    public static WebApplicationBuilder AddLoadBalancerProxy(this WebApplicationBuilder builder)
    {
        // The slim builder leaves out HTTPS endpoints from configuration (Kestrel:Endpoints, Kestrel:Certificates):
        // a load balancer terminates TLS.
        builder.WebHost.UseKestrelHttpsConfiguration();
        // Nor does it bind the rest of the Kestrel section (Kestrel:Limits: body size, connections, timeouts). Before
        // it: the proxy's own answers name no server software (Kestrel:AddServerHeader=true turns it back on); a
        // server's own Server header on a forwarded answer is the server's to send.
        builder.Services.Configure<KestrelServerOptions>(kestrel => kestrel.AddServerHeader = false);
        builder.Services.Configure<KestrelServerOptions>(builder.Configuration.GetSection("Kestrel"));
        var services = builder.Services;
        // Client connections are limited below the descriptor limit, so a flood cannot exhaust it (Connections/).
        services.AddConnectionLimiting();
        // Time and randomness are injected, so tests of health, breakers, retries and admin choices are deterministic.
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IRandomFactory, RandomFactory>();
        services.AddServiceDiscovery();

        services.AddOptions<BalancingOptions>().BindConfiguration(BalancingOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<BalancingOptions>, BalancingOptionsValidator>();
        services.AddOptions<RoutingOptions>().BindConfiguration(RoutingOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<RoutingOptions>, RoutingOptionsValidator>();
        services.AddOptions<ForwardingOptions>().BindConfiguration(ForwardingOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<DiscoveryOptions>().BindConfiguration(DiscoveryOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();

        services.AddSingleton<RingState>();
        services.AddSingleton<OwnAddresses>();
        services.AddSingleton<MembershipManager>();
        services.AddSingleton<ServiceDiscoveryMembershipSource>();
        services.AddHostedService(sp => sp.GetRequiredService<ServiceDiscoveryMembershipSource>());

        // Failover (see docs/failover.md): active probes, per-member breakers, retries, /health.
        services.AddOptions<HealthOptions>().BindConfiguration(HealthOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<HealthOptions>, HealthOptionsValidator>();
        services.AddOptions<CircuitBreakerOptions>().BindConfiguration(CircuitBreakerOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddOptions<RetryOptions>().BindConfiguration(RetryOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddSingleton<IValidateOptions<RetryOptions>, RetryOptionsValidator>();
        services.AddOptions<HedgingOptions>().BindConfiguration(HedgingOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddMetrics();
        services.AddSingleton<HealthMetrics>();
        services.AddSingleton<UpstreamAvailability>();
        services.AddSingleton<UpstreamCircuitBreakers>();
        services.AddSingleton<ActiveHealthChecker>();
        services.AddHostedService(sp => sp.GetRequiredService<ActiveHealthChecker>());
        services.AddHealthChecks().AddCheck<UpstreamHealthCheck>(UpstreamHealthCheck.Name);

        services.AddHttpForwarder();
        // YARP logs a failed forward at Warning with the whole exception (a client that aborts an upload: pages of stack
        // trace); every failed attempt is logged in one line as event 201, so YARP's forwarder is let through at Error
        // only. First in the list, so that a Logging setting naming the category still wins.
        services.Configure<LoggerFilterOptions>(filter => filter.Rules.Insert(0, new LoggerFilterRule(null, ForwarderLogCategory, LogLevel.Error, null)));
        services.AddSingleton<ViaHeader>();
        services.AddSingleton<ForwardingGuard>();
        services.AddSingleton<UpstreamHttpClient>();
        services.AddSingleton<RoutingKeyHasher>();
        services.AddSingleton<RetryBudget>();
        services.AddSingleton<ProxyRequestHandler>();

        services.AddLoadBalancerAdmin();
        services.AddClientRateLimiting();

        // Observability: traces, metrics, /ring (see Telemetry/); ProxyTelemetry observes every forwarding attempt.
        services.AddOptions<TelemetryOptions>().BindConfiguration(TelemetryOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        services.AddMetrics();
        services.AddSingleton<ProxyTelemetry>();
        services.AddAccessLog();
        services.AddPrometheusEndpoint(builder.Configuration);
        services.AddSingleton<IForwardingAttemptObserver>(sp => sp.GetRequiredService<ProxyTelemetry>());
        // Applies to whichever tracer provider the host builds (ServiceDefaults' or a test's); none is built here.
        services.ConfigureOpenTelemetryTracerProvider(tracing => tracing.SetSampler(sp =>
            sp.GetRequiredService<IOptions<TelemetryOptions>>().Value.TraceSampleRatio is var ratio && ratio < 1
                ? new ParentBasedSampler(new TraceIdRatioBasedSampler(ratio))
                : new ParentBasedSampler(new AlwaysOnSampler())));
        return builder;
    }

    /// <summary>
    /// Maps the proxy: its own endpoints are matched by routing first; every request no endpoint claims is forwarded.
    /// </summary>
    public static WebApplication MapLoadBalancerProxy(this WebApplication app)
    {
        var handler = app.Services.GetRequiredService<ProxyRequestHandler>();

        AccessLog.Use(app);
        app.MapRingEndpoints();
        PrometheusEndpoint.Map(app);
        app.UseRouting();
        app.MapAdminEndpoints();
        ClientRateLimiting.Use(app);
        // A middleware after routing rather than a catch-all route: no route values to allocate per request, and
        // any method and path (file-like ones included) reach the servers.
        app.Use((context, next) => context.GetEndpoint() is null ? handler.InvokeAsync(context) : next(context));
        return app;
    }
}
