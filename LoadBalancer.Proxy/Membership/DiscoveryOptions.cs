using System.ComponentModel.DataAnnotations;

namespace LoadBalancer.Proxy.Membership;

/// <summary>How ring members are found (configuration section <c>Discovery</c>).</summary>
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

    /// <summary>How long one resolution of all services may take.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan ResolveTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long to wait before trying again after a resolution failed.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(5);
}
