namespace LoadBalancer.Proxy.Forwarding;

/// <summary>What became of one forwarding attempt.</summary>
public enum AttemptKind
{
    /// <summary>The member answered below 500 and the answer went to the client.</summary>
    Success,

    /// <summary>The member answered 500 or more.</summary>
    ServerError,

    /// <summary>No connection could be opened: nothing reached the member.</summary>
    ConnectionFailed,

    /// <summary>The member's circuit breaker refused the attempt: nothing was sent.</summary>
    BreakerOpen,

    /// <summary>The member did not answer within the attempt timeout (or the forwarder's activity timeout).</summary>
    Timeout,

    /// <summary>The exchange broke after the request may have reached the member.</summary>
    TransportFailed,

    /// <summary>The client went away or sent a broken body; not the member's fault.</summary>
    ClientFailed,

    /// <summary>No eligible member was left to try.</summary>
    NoServer,
}

/// <summary>The outcome of one attempt, as the retry and breaker strategies and the observers see it.</summary>
/// <param name="Kind">What happened.</param>
/// <param name="StatusCode">The member's status code, or 0 when it never answered.</param>
/// <param name="Retryable">Whether another member may be tried (the response is untouched and the request can be replayed).</param>
/// <param name="Exception">The forwarder's exception, if any.</param>
/// <param name="Outpaced">
/// The attempt was hedged and the hedge's member answered first: the result is the hedge's, and for the member first
/// asked it is a failure (it did not answer in time).
/// </param>
public readonly record struct AttemptResult(AttemptKind Kind, int StatusCode, bool Retryable, Exception? Exception = null, bool Outpaced = false)
{
    /// <summary>No member left to try.</summary>
    public static AttemptResult NoServer => new(AttemptKind.NoServer, 0, Retryable: false);

    /// <summary>Whether the failure counts against the member's circuit breaker.</summary>
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
