using LoadBalancer.Proxy.Admin;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Common;
using LoadBalancer.Proxy.Connections;
using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Proxy.Health;
using LoadBalancer.Proxy.Kubernetes;
using LoadBalancer.Proxy.Membership;
using LoadBalancer.Proxy.Provisioning;
using LoadBalancer.Proxy.RateLimiting;
using LoadBalancer.Proxy.Telemetry;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace LoadBalancer.Proxy;

/// <summary>Registers and maps the load balancer; <c>Program</c> and the tests compose the proxy from these two calls.</summary>
public static class ProxyApplication
{
    /// <summary>The name of the proxy's <c>Meter</c> and <c>ActivitySource</c>.</summary>
    public const string TelemetryName = "LoadBalancer.Proxy";

    /// <summary>The log category of YARP's forwarder, whose failure events carry whole exceptions.</summary>
    public const string ForwarderLogCategory = "Yarp.ReverseProxy.Forwarder.HttpForwarder";

    /// <summary>Adds the proxy's services and options to <paramref name="builder"/>, one folder at a time.</summary>
    /// <remarks>
    /// Every settings class is bound, and checked at start, through <see cref="ValidatedOptions"/>. The order here does
    /// not matter, except that a test's own registrations, made after this call, replace the defaults below.
    /// </remarks>
    public static WebApplicationBuilder AddLoadBalancerProxy(this WebApplicationBuilder builder)
    {
        var services = builder.Services;
        // Shared: time and randomness are injected, so tests of health, breakers, retries and admin choices are
        // deterministic; one meter factory for every folder's metrics.
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton<IRandomFactory, RandomFactory>();
        services.AddMetrics();

        builder.AddClientConnections();                          // Connections/: Kestrel, the connection limit
        var kubernetes = services.AddKubernetesMembership(builder.Configuration); // Kubernetes/: servers from EndpointSlices, when enabled
        var engine = ProvisioningRegistration.EngineOf(builder.Configuration);
        ProvisioningRegistration.CheckEngine(engine, kubernetes); // two sources of the server list would overwrite each other

        services.AddMembership(serviceDiscovery: !kubernetes && engine == ProvisioningEngine.None); // Membership/: discovery, the ring's state
        services.AddProvisioning(engine);                        // Provisioning/, Docker/: the engine that runs servers, if any
        services.AddBalancing();                                 // Balancing/: algorithm, hash function, the table
        services.AddServerHealth();                              // Health/: probes, breakers, /health's check
        services.AddForwarding();                                // Forwarding/: key, attempts, retries, hedging
        services.AddLoadBalancerAdmin();                         // Admin/: /rep, /add, /rm
        services.AddClientRateLimiting();                        // RateLimiting/
        services.AddProxyTelemetry(builder.Configuration);       // Telemetry/: traces, metrics, access log, /ring
        return builder;
    }

    /// <summary>Maps the proxy's own endpoints and adds its middleware.</summary>
    /// <remarks>
    /// Routing matches the proxy's own endpoints wherever they are mapped (<c>/health</c> and <c>/alive</c> come from
    /// <c>Program</c>); the middleware runs in the order it is added, and that order matters:
    /// <list type="number">
    /// <item>the access log first, so it records and times every request, the proxy's own endpoints included;</item>
    /// <item>routing, which finds the request's endpoint, if any;</item>
    /// <item>the rate limit after routing, so it limits only what no endpoint claimed, i.e. what is forwarded;</item>
    /// <item>forwarding last: a request no endpoint claimed goes to a server, one that an endpoint claimed passes on to
    /// that endpoint.</item>
    /// </list>
    /// </remarks>
    public static WebApplication MapLoadBalancerProxy(this WebApplication app)
    {
        app.MapRingEndpoints();                                  // Telemetry/: /ring, /ring/view
        app.MapPrometheusEndpoint();                             // Telemetry/: Telemetry:PrometheusPath, when set
        app.MapAdminEndpoints();                                 // Admin/: /rep, /add, /rm

        app.UseAccessLog();
        app.UseRouting();
        app.UseClientRateLimiting();
        app.UseForwarding();
        return app;
    }
}
