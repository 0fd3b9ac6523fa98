namespace LoadBalancer.Proxy.Forwarding;

/// <summary>The outcome of one attempt, as the retry and breaker strategies and the observers see it.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="StatusCode">The server's status code, or 0 when it never answered.</param>
/// <param name="Retryable">Whether another server may be tried (the response is untouched and the request can be replayed).</param>
/// <param name="Exception">The forwarder's exception, if any.</param>
/// <param name="Outpaced">
/// The attempt was hedged and the hedge's server answered first: the result is the hedge's, and for the server first
/// asked it is a failure (it did not answer in time).
/// </param>
public readonly record struct AttemptResult(AttemptKind Kind, int StatusCode, bool Retryable, Exception? Exception = null, bool Outpaced = false)
{
    /// <summary>No server left to try.</summary>
    public static AttemptResult NoServer => new(AttemptKind.NoServer, 0, Retryable: false);

    /// <summary>Whether the failure counts against the server's circuit breaker.</summary>
    public bool IsServerFault => Outpaced || Kind is AttemptKind.ServerError or AttemptKind.ConnectionFailed or AttemptKind.Timeout or AttemptKind.TransportFailed;

    /// <summary>A constant, low-cardinality name for logs and metric tags.</summary>
    public string KindName => Kind switch
    {
        AttemptKind.Success => "success",
        AttemptKind.ServerError => "server_error",
        AttemptKind.ConnectionFailed => "connection_failed",
        AttemptKind.BreakerOpen => "breaker_open",
        AttemptKind.Timeout => "timeout",
        AttemptKind.TransportFailed => "transport_failed",
        AttemptKind.ClientFailed => "client_failed",
        _ => "no_server",
    };
}
