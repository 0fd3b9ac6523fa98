using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using LoadBalancer.AppHost;

var builder = DistributedApplication.CreateBuilder(args);
var options = AppHostOptions.Read(builder.Configuration);
// Each server's HTTP/2-only endpoint (h2c), which the proxy routes to when it speaks HTTP/2.
const string H2cEndpoint = "h2c";

// The proxy listens on a fixed port (5000 by default) straight on the process: no DCP hop in front of it.
var proxy = builder.AddProject<Projects.LoadBalancer_Proxy>("proxy", launchProfileName: null)
    .WithHttpEndpoint(port: options.ProxyPort, name: "http", isProxied: false)
    .WithHttpHealthCheck(HealthCheckPaths.Default)
    // Observability: the live ring page, linked from the proxy's resource in the dashboard.
    .WithUrlForEndpoint("http", _ => new ResourceUrlAnnotation { Url = "/ring/view", DisplayText = "Ring (live)" })
    .WithExternalHttpEndpoints();

// Admin API key (/rep, /add, /rm): a generated secret parameter, shown under Parameters in the dashboard; set
// Parameters:admin-key (e.g. in user secrets) for a stable one. Not persisted: test runs must not write user secrets.
var adminKey = builder.AddParameter("admin-key", new GenerateParameterDefault { MinLength = 32, Special = false }, secret: true);
proxy.WithEnvironment("Admin__ApiKey", adminKey);

// Which endpoint of each server the proxy routes to, and in which HTTP version.
if (options.UpstreamProtocol == "Http2")
{
    proxy.WithEnvironment("Forwarding__UpstreamProtocol", "Http2")
        .WithEnvironment("Discovery__EndpointName", H2cEndpoint);
}

// Settings under "Proxy" in the AppHost's configuration reach the proxy as its own configuration,
// e.g. Proxy:Balancing:Algorithm → Balancing__Algorithm.
foreach (var (key, value) in builder.Configuration.GetSection("Proxy").AsEnumerable(makePathsRelative: true))
{
    if (value is not null)
    {
        proxy.WithEnvironment(key.Replace(":", "__", StringComparison.Ordinal), value);
    }
}

// N distinct resources rather than WithReplicas: replicas would hide behind one DCP endpoint that balances per
// connection, and the ring must see every server as a member of its own.
for (var i = 1; i <= options.Servers; i++)
{
    var server = builder.AddProject<Projects.LoadBalancer_Server>($"server{i}", launchProfileName: null)
        .WithHttpEndpoint(name: "http", isProxied: options.ProxiedServers)
        // HTTP/2 with prior knowledge on a port of its own (Kestrel offers h2c only on a port that speaks nothing
        // else); "http" stays HTTP/1.1 for people, browsers and the health check.
        .WithHttpEndpoint(name: H2cEndpoint, isProxied: options.ProxiedServers)
        .WithEndpoint(H2cEndpoint, endpoint => endpoint.Transport = "http2")
        // A browser cannot speak h2c: the link stays off the resource list, with a name that says why.
        .WithUrlForEndpoint(H2cEndpoint, url =>
        {
            url.DisplayText = "h2c (HTTP/2 only, for the proxy)";
            url.DisplayLocation = UrlDisplayLocation.DetailsOnly;
        })
        .WithEnvironment("SERVER_ID", i.ToString(System.Globalization.CultureInfo.InvariantCulture))
        .WithHttpHealthCheck(HealthCheckPaths.Server, endpointName: "http");
    server.WithEnvironment("Server__H2cPort", server.GetEndpoint(H2cEndpoint).Property(EndpointProperty.TargetPort));
    // Dashboard commands: take the server out of the proxy's ring and put it back (the admin API, with the key).
    server.WithRingCommands(proxy.GetEndpoint("http"), adminKey.Resource);

    proxy.WithReference(server).WaitFor(server);
}

// Respawn: a server that crashes or exits on its own is started again; one stopped on purpose stays stopped.
if (options.RespawnServers)
{
    var serverNames = Enumerable.Range(1, options.Servers).Select(i => $"server{i}").ToHashSet(StringComparer.Ordinal);
    builder.Services.AddHostedService(sp => ActivatorUtilities.CreateInstance<ServerSupervisor>(sp, (IReadOnlySet<string>)serverNames));
}

builder.Build().Run();
