namespace LoadBalancer.Proxy.Routing;

/// <summary>A place a routing key can be read from.</summary>
public enum RoutingKeySource
{
    /// <summary>The query parameter <see cref="RoutingOptions.QueryParameter"/> (default <c>id</c>).</summary>
    Query,

    /// <summary>The header <see cref="RoutingOptions.Header"/> (default <c>X-Request-Id</c>).</summary>
    Header,

    /// <summary>The client's IP address.</summary>
    ClientAddress,

    /// <summary>The cookie <see cref="RoutingOptions.Cookie"/> (default <c>session</c>): sticky sessions, as nginx's <c>hash $cookie_… consistent</c>.</summary>
    Cookie,
}
