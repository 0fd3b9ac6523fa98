using Microsoft.Extensions.Configuration;
using System.ComponentModel.DataAnnotations;

namespace LoadBalancer.AppHost;

/// <summary>The AppHost's own settings (configuration section <c>LoadBalancer</c>).</summary>
public sealed class AppHostOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "LoadBalancer";

    /// <summary>How many backend servers to start: <c>server1</c> … <c>serverN</c>.</summary>
    [Range(1, 64)]
    public int Servers { get; set; } = 3;

    /// <summary>
    /// How many servers there can be at most: <see cref="Servers"/> start with the AppHost, the rest up to this many
    /// are declared but not started (shown as such in the dashboard) until <c>POST /add</c> starts them
    /// (docs/admin-api.md, "Starting and stopping servers").
    /// </summary>
    [Range(1, 64)]
    public int MaxServers { get; set; } = 16;

    /// <summary>
    /// How many proxy processes run behind the proxy's port. With more than one, DCP's endpoint proxy takes the port and
    /// spreads connections over them; every replica builds the same table from the AppHost's server pool.
    /// </summary>
    [Range(1, 8)]
    public int ProxyReplicas { get; set; } = 1;

    /// <summary>The host port the proxy listens on.</summary>
    [Range(1, 65535)]
    public int ProxyPort { get; set; } = 5000;

    /// <summary>
    /// Whether DCP's own endpoint proxy sits in front of each server. Off by default: our proxy is the load balancer,
    /// and the extra hop costs throughput (see docs/benchmarks.md, "Measured: DCP's endpoint proxy").
    /// </summary>
    public bool ProxiedServers { get; set; }

    /// <summary>
    /// The HTTP version the proxy speaks to the servers: <c>Http2</c> (by default; each server's <c>h2c</c> endpoint,
    /// where the requests in flight share one connection) or <c>Http1</c> (each server's <c>http</c> endpoint). Unlike the
    /// proxy's own default (<c>Forwarding:ServerProtocol=Http1</c>), on purpose: see docs/configuration.md, "Why the
    /// AppHost speaks HTTP/2 to the servers and the proxy alone HTTP/1.1".
    /// </summary>
    [RegularExpression("^(Http1|Http2)$", ErrorMessage = "ServerProtocol must be Http1 or Http2.")]
    public string ServerProtocol { get; set; } = "Http2";

    /// <summary>
    /// Whether a server that exits on its own (crash, kill) is started again at once. One stopped on purpose
    /// (stop command, dashboard) stays stopped either way.
    /// </summary>
    public bool RespawnServers { get; set; } = true;

    /// <summary>Reads and validates the options from <paramref name="configuration"/>.</summary>
    public static AppHostOptions Read(IConfiguration configuration)
    {
        var options = configuration.GetSection(SectionName).Get<AppHostOptions>() ?? new AppHostOptions();
        var results = new List<ValidationResult>();
        if (!Validator.TryValidateObject(options, new ValidationContext(options), results, validateAllProperties: true))
        {
            throw new InvalidOperationException(
                $"Invalid '{SectionName}' settings: {string.Join("; ", results.Select(r => $"{string.Join(",", r.MemberNames)}: {r.ErrorMessage}"))}");
        }

        if (options.MaxServers < options.Servers)
        {
            throw new InvalidOperationException(
                $"Invalid '{SectionName}' settings: MaxServers ({options.MaxServers}) must be at least Servers ({options.Servers}).");
        }

        return options;
    }
}
