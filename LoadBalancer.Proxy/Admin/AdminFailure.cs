namespace LoadBalancer.Proxy.Admin;

/// <summary>A refused admin call: the status code and the <c>message</c> of the failure reply.</summary>
public sealed class AdminFailureException(int statusCode, string message) : Exception(message)
{
    /// <summary>The HTTP status code to answer with.</summary>
    public int StatusCode { get; } = statusCode;
}
