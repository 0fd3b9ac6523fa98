using System.ComponentModel.DataAnnotations;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>Where a request's routing key comes from (configuration section <c>Routing</c>).</summary>
public sealed class RoutingOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Routing";

    /// <summary>The sources tried in order; the first that yields a key wins. Default: query, header, client address.</summary>
    public RoutingKeySource[]? KeySources { get; set; }

    /// <summary>The query parameter read by <see cref="RoutingKeySource.Query"/>.</summary>
    [Required(AllowEmptyStrings = false)]
    public string QueryParameter { get; set; } = "id";

    /// <summary>The header read by <see cref="RoutingKeySource.Header"/>.</summary>
    [Required(AllowEmptyStrings = false)]
    public string Header { get; set; } = "X-Request-Id";

    /// <summary>The sources in effect.</summary>
    public RoutingKeySource[] EffectiveKeySources =>
        KeySources is { Length: > 0 } ? KeySources : [RoutingKeySource.Query, RoutingKeySource.Header, RoutingKeySource.ClientAddress];
}

/// <summary>A place a routing key can be read from.</summary>
public enum RoutingKeySource
{
    /// <summary>The query parameter <see cref="RoutingOptions.QueryParameter"/> (default <c>id</c>).</summary>
    Query,

    /// <summary>The header <see cref="RoutingOptions.Header"/> (default <c>X-Request-Id</c>).</summary>
    Header,

    /// <summary>The client's IP address.</summary>
    ClientAddress,
}
