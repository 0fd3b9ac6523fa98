using System.Globalization;
using LoadBalancer.AppHost.Provisioning;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.AppHost;

/// <summary>The AppHost's resources, one method each, so that AppHost.cs reads as the system's diagram.</summary>
internal static partial class LoadBalancerResources
{
    /// <summary>Each server's HTTP/2-only endpoint (h2c), which the proxy routes to when it speaks HTTP/2.</summary>
    public const string H2cEndpoint = "h2c";

    /// <summary>
    /// The admin API key (<c>/rep</c>, <c>/add</c>, <c>/rm</c>): a generated secret, shown in the dashboard under
    /// Resources → Parameters; set <c>Parameters:admin-key</c> (e.g. in user secrets) for a stable one. Not persisted:
    /// test runs must not write user secrets.
    /// </summary>
    public static IResourceBuilder<ParameterResource> AddAdminKey(this IDistributedApplicationBuilder builder) =>
        builder.AddParameter("admin-key", new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true);

    /// <summary>
    /// The proxy, on a fixed port straight on the process (no DCP hop in front of it), with its key, its health check
    /// and the live ring page linked from its resource. With more than one replica, DCP's endpoint proxy holds the port
    /// and spreads connections over the replicas (each on a port of its own).
    /// </summary>
    public static IResourceBuilder<ProjectResource> AddProxy(
        this IDistributedApplicationBuilder builder, int port, int replicas, IResourceBuilder<ParameterResource> adminKey) =>
        builder.AddProject<Projects.LoadBalancer_Proxy>("proxy", launchProfileName: null)
            .WithHttpEndpoint(port: port, name: "http", isProxied: replicas > 1)
            .WithReplicas(replicas)
            .WithPlainHttp()
            .WithHttpHealthCheck(HealthCheckPaths.Default)
            .WithUrlForEndpoint("http", _ => new ResourceUrlAnnotation { Url = "/ring/view", DisplayText = "Ring (live)" })
            .WithExternalHttpEndpoints()
            .WithEnvironment("Admin__ApiKey", adminKey)
            .OnResourceReady((proxy, ready, _) =>
            {
                var address = proxy.GetEndpoint("http").Url;
                LogProxyReady(ready.Services.GetRequiredService<ILoggerFactory>().CreateLogger("LoadBalancer.AppHost"),
                    $"{address}/home?id=42", $"{address}/ring/view", $"{address}/health");
                return Task.CompletedTask;
            });

    /// <summary>
    /// Server <paramref name="id"/> (<c>server{id}</c>): HTTP/1.1 on <c>http</c> for people, browsers and the health
    /// check, and HTTP/2 with prior knowledge on <c>h2c</c>, a port of its own (Kestrel offers h2c only on a port that
    /// speaks nothing else).
    /// </summary>
    public static IResourceBuilder<ProjectResource> AddServer(this IDistributedApplicationBuilder builder, int id, bool proxied)
    {
        var server = builder.AddProject<Projects.LoadBalancer_Server>($"server{id}", launchProfileName: null)
            .WithHttpEndpoint(name: "http", isProxied: proxied)
            .WithHttpEndpoint(name: H2cEndpoint, isProxied: proxied)
            .WithEndpoint(H2cEndpoint, endpoint => endpoint.Transport = "http2")
            // A browser cannot speak h2c: the link stays off the resource list, with a name that says why.
            .WithUrlForEndpoint(H2cEndpoint, url =>
            {
                url.DisplayText = "h2c (HTTP/2 only, for the proxy)";
                url.DisplayLocation = UrlDisplayLocation.DetailsOnly;
            })
            .WithPlainHttp()
            .WithEnvironment("SERVER_ID", id.ToString(CultureInfo.InvariantCulture))
            .WithHttpHealthCheck(HealthCheckPaths.Server, endpointName: "http");
        return server.WithEnvironment("Server__H2cPort", server.GetEndpoint(H2cEndpoint).Property(EndpointProperty.TargetPort));
    }

    /// <summary>
    /// Declares the servers: when the AppHost runs, <c>MaxServers</c> slots of which the first <c>Servers</c> start with
    /// it and the others wait, not started, for <c>POST /add</c>; each slot's server answers under the ring name it was
    /// started with (<c>SERVER_ID</c>, shown in the dashboard's details). In publish mode only the first <c>Servers</c>.
    /// </summary>
    public static ServerPoolResources AddServerPool(this IDistributedApplicationBuilder builder, AppHostOptions options)
    {
        var count = builder.ExecutionContext.IsPublishMode ? options.Servers : options.MaxServers;
        var slots = new List<IResourceBuilder<ProjectResource>>(count);
        var pool = builder.ExecutionContext.IsPublishMode
            ? null
            : new ServerPool(Enumerable.Range(1, count).Select(id => $"server{id}").ToArray(), options.Servers);
        for (var id = 1; id <= count; id++)
        {
            var server = builder.AddServer(id, options.ProxiedServers);
            if (pool is not null)
            {
                // Under the id it started with (server2 answers "Hello from Server: 2"), or the name /add gave it.
                var (name, ownId) = (server.Resource.Name, id.ToString(CultureInfo.InvariantCulture));
                server.WithEnvironment(context => context.EnvironmentVariables["SERVER_ID"] = pool.NameOf(name) is var ring && ring != name ? ring : ownId);
                if (id > options.Servers)
                {
                    server.WithExplicitStart();
                }
            }

            slots.Add(server);
        }

        var resources = new ServerPoolResources(slots, options.Servers, pool);
        resources.Register(builder.Services);
        return resources;
    }

    /// <summary>
    /// Points the proxy at the AppHost's provisioning API (address and key, known once the AppHost runs), so that its
    /// membership is the pool's list and <c>/add</c>, <c>/rm</c> start and stop servers. Nothing in publish mode.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithServerPool(this IResourceBuilder<ProjectResource> proxy, ServerPoolResources pool)
    {
        if (pool.Pool is null)
        {
            return proxy;
        }

        return proxy.WithEnvironment(async context =>
        {
            var api = context.ExecutionContext.Services.GetRequiredService<ProvisioningApi>();
            context.EnvironmentVariables["Provisioning__Engine"] = "AppHost";
            context.EnvironmentVariables["Provisioning__Address"] = (await api.GetAddressAsync().ConfigureAwait(false)).ToString();
            context.EnvironmentVariables["Provisioning__Key"] = api.Key;
        });
    }

    /// <summary>
    /// Which endpoint of each server the proxy routes to, and in which HTTP version: for <c>Http2</c>, each server's
    /// <c>h2c</c> endpoint. The AppHost's default differs from the proxy's own on purpose (docs/configuration.md, AppHost).
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithServerProtocol(this IResourceBuilder<ProjectResource> proxy, string protocol) =>
        protocol == "Http2"
            ? proxy.WithEnvironment("Forwarding__ServerProtocol", "Http2").WithEnvironment("Discovery__EndpointName", H2cEndpoint)
            : proxy;

    /// <summary>
    /// Passes the settings under <paramref name="section"/> (<c>Proxy</c>) to the proxy as its own configuration, e.g.
    /// <c>Proxy:Balancing:Algorithm</c> → <c>Balancing__Algorithm</c>. Call it last: a value given here wins over one the
    /// AppHost derived.
    /// </summary>
    public static IResourceBuilder<ProjectResource> WithProxySettings(this IResourceBuilder<ProjectResource> proxy, IConfiguration section)
    {
        foreach (var (key, value) in section.AsEnumerable(makePathsRelative: true))
        {
            if (value is not null)
            {
                proxy.WithEnvironment(key.Replace(":", "__", StringComparison.Ordinal), value);
            }
        }

        return proxy;
    }

    /// <summary>Starts a server that crashes or exits on its own again; one stopped on purpose stays stopped (see <see cref="ServerSupervisor"/>).</summary>
    public static void AddServerSupervisor(this IDistributedApplicationBuilder builder, IReadOnlySet<string> servers) =>
        builder.Services.AddHostedService(sp => ActivatorUtilities.CreateInstance<ServerSupervisor>(sp, servers));

    /// <summary>
    /// Every endpoint here is plain http by design (the proxy terminates TLS when configured to, see
    /// docs/deployment.md), so Aspire is told to configure no HTTPS certificate for the project: otherwise it checks for
    /// a trusted development certificate at start and, finding none, warns on the console and shows a red banner on
    /// every dashboard page, although nothing here would use one. (Aspire 13.6.5's <c>DcpHost</c> checks only when a
    /// resource has an https endpoint or an HTTPS certificate callback not switched off this way; every project gets
    /// such a callback by default.)
    /// </summary>
    private static IResourceBuilder<ProjectResource> WithPlainHttp(this IResourceBuilder<ProjectResource> project) =>
#pragma warning disable ASPIRECERTIFICATES001 // Evaluation API; the one call site to revisit if Aspire changes it.
        project.WithoutHttpsCertificate();
#pragma warning restore ASPIRECERTIFICATES001

    [LoggerMessage(EventId = 10, Level = LogLevel.Information,
        Message = "The proxy is ready: try {Home}; the live ring is at {Ring}, its health at {Health}. The admin API key (for /rep, /add, /rm) is in the dashboard: Resources, Parameters, admin-key")]
    private static partial void LogProxyReady(ILogger logger, string home, string ring, string health);
}
