namespace LoadBalancer.Proxy.Forwarding;

/// <summary>Limits shared by <see cref="RetryOptions"/> and the per-request state.</summary>
internal static class RetryOptionsLimits
{
    public const int MaxAttempts = 10;
}
