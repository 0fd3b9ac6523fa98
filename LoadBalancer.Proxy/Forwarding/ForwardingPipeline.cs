using LoadBalancer.Proxy.Health;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// Builds, once, the Polly pipeline every request runs through: a total deadline around a retry around a per-attempt
/// timeout. The attempt itself (pick a member, pass its breaker, forward) is <see cref="ProxyRequestHandler"/>'s.
/// </summary>
internal static class ForwardingPipeline
{
    public static ResiliencePipeline<AttemptResult> Build(RetryOptions options, TimeProvider time, HealthMetrics metrics)
    {
        var builder = new ResiliencePipelineBuilder<AttemptResult> { Name = "forwarding", TimeProvider = time }
            .AddTimeout(new TimeoutStrategyOptions { Name = "total", Timeout = options.TotalTimeout });

        if (options.MaxAttempts > 1)
        {
            builder.AddRetry(new RetryStrategyOptions<AttemptResult>
            {
                MaxRetryAttempts = options.MaxAttempts - 1,
                // The next attempt goes to another member: no reason to wait.
                Delay = TimeSpan.Zero,
                BackoffType = DelayBackoffType.Constant,
                UseJitter = false,
                // Whether a failure may be retried depends on the method, the body and what reached the member; the
                // attempt decided it while it still knew (see ProxyRequestHandler.ForwardAsync).
                ShouldHandle = static args => new ValueTask<bool>(args.Outcome.Exception is null && args.Outcome.Result.Retryable),
                OnRetry = args =>
                {
                    metrics.Retried(args.Outcome.Result);
                    return default;
                },
            });
        }

        return builder
            .AddTimeout(new TimeoutStrategyOptions { Name = "attempt", Timeout = options.AttemptTimeout })
            .Build();
    }
}
