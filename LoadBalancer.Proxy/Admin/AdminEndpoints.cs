using LoadBalancer.Proxy.Membership;

namespace LoadBalancer.Proxy.Admin;

/// <summary>
/// The assignment's management API on the proxy's port: <c>GET /rep</c>, <c>POST /add</c>, <c>DELETE /rm</c>.
/// </summary>
/// <remarks>
/// The three paths are routing endpoints for every method, so the proxy never forwards them to servers (a wrong method
/// gets a JSON 405 here). Servers' own paths of the same names are not reachable through the proxy.
/// </remarks>
public static class AdminEndpoints
{
    /// <summary>The path of the replica list.</summary>
    public const string RepPath = "/rep";

    /// <summary>The path that adds servers.</summary>
    public const string AddPath = "/add";

    /// <summary>The path that removes servers.</summary>
    public const string RemovePath = "/rm";

    /// <summary>Adds the admin API's options and services.</summary>
    public static IServiceCollection AddLoadBalancerAdmin(this IServiceCollection services)
    {
        services.AddValidatedOptions<AdminOptions, AdminOptionsValidator>(AdminOptions.SectionName);
        services.AddSingleton<AdminMetrics>();
        services.AddSingleton<AdminAccess>();
        services.AddSingleton<AdminStateFile>();
        services.AddSingleton<IMembershipStore>(sp => sp.GetRequiredService<AdminStateFile>());
        services.AddSingleton<AdminRequestReader>();
        services.AddSingleton<AdminHandler>();
        return services;
    }

    /// <summary>Maps <c>/rep</c>, <c>/add</c> and <c>/rm</c> (all methods; see remarks on the type).</summary>
    public static WebApplication MapAdminEndpoints(this WebApplication app)
    {
        var handler = app.Services.GetRequiredService<AdminHandler>();
        handler.WarnIfOpen();
        app.Map(RepPath, handler.ReplicasAsync);
        app.Map(AddPath, handler.AddAsync);
        app.Map(RemovePath, handler.RemoveAsync);
        return app;
    }
}
