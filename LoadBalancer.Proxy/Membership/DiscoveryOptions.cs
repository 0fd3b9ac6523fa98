using System.ComponentModel.DataAnnotations;

namespace LoadBalancer.Proxy.Membership;

/// <summary>How ring servers are found (configuration section <c>Discovery</c>).</summary>
public sealed class DiscoveryOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Discovery";

    /// <summary>The configuration section whose children are the services to route to (the service-discovery convention).</summary>
    [Required]
    public string ServicesSection { get; set; } = "Services";

    /// <summary>The URI scheme asked of service discovery for each service (<c>http</c>, or <c>https+http</c> to prefer TLS).</summary>
    [Required]
    public string Scheme { get; set; } = "http";

    /// <summary>
    /// The named endpoint asked of each service (e.g. <c>h2c</c>, resolved as <c>http://_h2c.server1</c>), or none for
    /// the scheme's own endpoint. The AppHost asks for <c>h2c</c> when the proxy speaks HTTP/2 to the servers.
    /// </summary>
    [RegularExpression("^[A-Za-z0-9-]{1,64}$", ErrorMessage = "Discovery:EndpointName must be 1-64 letters, digits or '-'.")]
    public string? EndpointName { get; set; }

    /// <summary>The service-discovery query for <paramref name="service"/>.</summary>
    public string QueryFor(string service) =>
        string.IsNullOrEmpty(EndpointName) ? $"{Scheme}://{service}" : $"{Scheme}://_{EndpointName}.{service}";

    /// <summary>How long one resolution of all services may take.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan ResolveTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long to wait before trying again after a resolution failed.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(5);
}
