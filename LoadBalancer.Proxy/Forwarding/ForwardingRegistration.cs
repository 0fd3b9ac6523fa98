using LoadBalancer.Proxy.Routing;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>The request path's services (routing key, attempts, retries, hedging) and the middleware that forwards.</summary>
internal static class ForwardingRegistration
{
    /// <summary>Registers the forwarding settings and services, and YARP's forwarder.</summary>
    public static IServiceCollection AddForwarding(this IServiceCollection services)
    {
        services.AddValidatedOptions<RoutingOptions, RoutingOptionsValidator>(RoutingOptions.SectionName);
        services.AddValidatedOptions<ForwardingOptions>(ForwardingOptions.SectionName);
        services.AddValidatedOptions<RetryOptions, RetryOptionsValidator>(RetryOptions.SectionName);
        services.AddValidatedOptions<HedgingOptions, HedgingOptionsValidator>(HedgingOptions.SectionName);

        services.AddHttpForwarder();
        // YARP logs a failed forward at Warning with the whole exception (a client that aborts an upload: pages of stack
        // trace); every failed attempt is logged in one line as event 201, so YARP's forwarder is let through at Error
        // only. First in the list, so that a Logging setting naming the category still wins.
        services.Configure<LoggerFilterOptions>(filter => filter.Rules.Insert(0, new LoggerFilterRule(null, ProxyApplication.ForwarderLogCategory, LogLevel.Error, null)));
        services.AddSingleton<OwnAddresses>();
        services.AddSingleton<ViaHeader>();
        services.AddSingleton<ForwardingGuard>();
        services.AddSingleton<ServerHttpClient>();
        services.AddSingleton<RoutingKeyHasher>();
        services.AddSingleton<RetryBudget>();
        services.AddSingleton<ProxyRequestHandler>();
        services.AddHostedService<HedgingWarmup>();
        services.AddHostedService<HedgeDelays>();
        return services;
    }

    /// <summary>
    /// Forwards every request that no endpoint claimed; call last, after routing. A middleware rather than a catch-all
    /// route: no route values to allocate per request, and any method and path (file-like ones included) reach the servers.
    /// </summary>
    public static WebApplication UseForwarding(this WebApplication app)
    {
        var handler = app.Services.GetRequiredService<ProxyRequestHandler>();
        app.Use((context, next) => context.GetEndpoint() is null ? handler.InvokeAsync(context) : next(context));
        return app;
    }
}
