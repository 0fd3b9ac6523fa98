namespace LoadBalancer.Proxy.Balancing;

/// <summary>Why a server is held out of routing; several can hold at once.</summary>
[Flags]
public enum UnavailableReasons
{
    /// <summary>Available.</summary>
    None = 0,

    /// <summary>Failed its active health probes.</summary>
    HealthProbe = 1,

    /// <summary>Its circuit breaker is open.</summary>
    CircuitBreaker = 2,

    /// <summary>
    /// Hedges outpaced it several times in a row (<c>CircuitBreaker:OutpacedToOpen</c>): it sent no response headers
    /// within the hedging delay and answered nothing in between, as a hung server does.
    /// </summary>
    Outpaced = 4,
}
