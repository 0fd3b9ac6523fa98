using LoadBalancer.Proxy.Health;
using Polly;
using Polly.Retry;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// Builds, once, the Polly retry pipeline a request enters when its first attempt failed in a retryable way. The
/// attempt itself (pick a member, pass its breaker, forward) is <see cref="ProxyRequestHandler"/>'s, and the
/// deadlines are the request's own (<see cref="ForwardingRequest.BeginForward"/>).
/// </summary>
/// <remarks>
/// The first attempt runs outside this pipeline: most requests never need a retry, and each Polly strategy costs an
/// async frame per request. A failed first attempt is replayed into the pipeline (<see cref="ForwardingRequest.ReplayIntoRetry"/>),
/// so Polly still makes, and counts, every retry decision.
/// </remarks>
internal static class ForwardingPipeline
{
    public static ResiliencePipeline<AttemptResult> Build(RetryOptions options, TimeProvider time, HealthMetrics metrics)
    {
        if (options.MaxAttempts <= 1)
        {
            return ResiliencePipeline<AttemptResult>.Empty;
        }

        return new ResiliencePipelineBuilder<AttemptResult> { Name = "forwarding", TimeProvider = time }
            .AddRetry(new RetryStrategyOptions<AttemptResult>
            {
                MaxRetryAttempts = options.MaxAttempts - 1,
                // The next attempt goes to another member: no reason to wait.
                Delay = TimeSpan.Zero,
                BackoffType = DelayBackoffType.Constant,
                UseJitter = false,
                // Whether a failure may be retried depends on the method, the body, what reached the member and the
                // deadline; the attempt decided it while it still knew (see ForwardingRequest.CanRetry).
                ShouldHandle = static args => new ValueTask<bool>(args.Outcome.Exception is null && args.Outcome.Result.Retryable),
                OnRetry = args =>
                {
                    metrics.Retried(args.Outcome.Result);
                    return default;
                },
            })
            .Build();
    }
}
