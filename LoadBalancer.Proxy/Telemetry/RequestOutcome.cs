namespace LoadBalancer.Proxy.Telemetry;

/// <summary>How one attempt to forward a request to a member ended (metric attribute <c>loadbalancer.outcome</c>).</summary>
public enum RequestOutcome
{
    /// <summary>The member answered with a status below 500.</summary>
    Success,

    /// <summary>The member answered with a 5xx status.</summary>
    ServerError,

    /// <summary>No answer: connection refused or reset, timeout, or the request failed in transit.</summary>
    Failure,

    /// <summary>No member was available to try.</summary>
    NoServer,
}

/// <summary>Retry reasons used as <c>loadbalancer.retry.reason</c>; the retry loop names why it tried again.</summary>
public static class RetryReasons
{
    /// <summary>The member could not be connected to (refused, unreachable, connect timeout).</summary>
    public const string ConnectFailure = "connect_failure";

    /// <summary>The member accepted the request but did not answer in time.</summary>
    public const string Timeout = "timeout";

    /// <summary>The member answered 5xx.</summary>
    public const string ServerError = "server_error";

    /// <summary>The member's circuit breaker was open.</summary>
    public const string BreakerOpen = "breaker_open";

    /// <summary>Any other transport failure.</summary>
    public const string TransportError = "transport_error";
}
