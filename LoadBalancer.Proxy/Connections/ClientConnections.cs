using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace LoadBalancer.Proxy.Connections;

/// <summary>The proxy's front: Kestrel as configured (endpoints, certificates, limits) and the connection limit.</summary>
internal static class ClientConnections
{
    /// <summary>Binds Kestrel's whole configuration section and limits client connections (see <see cref="ConnectionLimiting"/>).</summary>
    public static WebApplicationBuilder AddClientConnections(this WebApplicationBuilder builder)
    {
        // The slim builder leaves out HTTPS endpoints from configuration (Kestrel:Endpoints, Kestrel:Certificates):
        // a load balancer terminates TLS.
        builder.WebHost.UseKestrelHttpsConfiguration();
        // Nor does it bind the rest of the Kestrel section (Kestrel:Limits: body size, connections, timeouts). Before
        // it: the proxy's own answers name no server software (Kestrel:AddServerHeader=true turns it back on); a
        // server's own Server header on a forwarded answer is the server's to send.
        builder.Services.Configure<KestrelServerOptions>(kestrel => kestrel.AddServerHeader = false);
        builder.Services.Configure<KestrelServerOptions>(builder.Configuration.GetSection("Kestrel"));
        // Client connections are limited below the descriptor limit, so a flood cannot exhaust it.
        builder.Services.AddConnectionLimiting();
        return builder;
    }
}
