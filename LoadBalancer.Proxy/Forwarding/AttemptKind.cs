namespace LoadBalancer.Proxy.Forwarding;

/// <summary>What became of one forwarding attempt.</summary>
public enum AttemptKind
{
    /// <summary>The server answered below 500 and the answer went to the client.</summary>
    Success,

    /// <summary>The server answered 500 or more.</summary>
    ServerError,

    /// <summary>No connection could be opened: nothing reached the server.</summary>
    ConnectionFailed,

    /// <summary>The server's circuit breaker refused the attempt: nothing was sent.</summary>
    BreakerOpen,

    /// <summary>The server did not answer within the attempt timeout (or the forwarder's activity timeout).</summary>
    Timeout,

    /// <summary>The exchange broke after the request may have reached the server.</summary>
    TransportFailed,

    /// <summary>The client went away or sent a broken body; not the server's fault.</summary>
    ClientFailed,

    /// <summary>No eligible server was left to try.</summary>
    NoServer,
}
