using System.Globalization;
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
    /// and the live ring page linked from its resource.
    /// </summary>
    public static IResourceBuilder<ProjectResource> AddProxy(
        this IDistributedApplicationBuilder builder, int port, IResourceBuilder<ParameterResource> adminKey) =>
        builder.AddProject<Projects.LoadBalancer_Proxy>("proxy", launchProfileName: null)
            .WithHttpEndpoint(port: port, name: "http", isProxied: false)
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
    public static void AddServerSupervisor(this IDistributedApplicationBuilder builder, int servers)
    {
        var names = Enumerable.Range(1, servers).Select(i => $"server{i}").ToHashSet(StringComparer.Ordinal);
        builder.Services.AddHostedService(sp => ActivatorUtilities.CreateInstance<ServerSupervisor>(sp, (IReadOnlySet<string>)names));
    }

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
