using LoadBalancer.Proxy.Telemetry;
using Polly;
using Polly.Retry;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// Builds, once, the Polly retry pipeline that runs a request's retries (attempts 2 to
/// <see cref="RetryOptions.MaxAttempts"/>) when its first attempt failed in a retryable way. The attempt itself (pick a
/// server, pass its breaker, forward) is <see cref="ProxyRequestHandler"/>'s, and the deadlines are the request's own
/// (<see cref="ForwardingRequest.BeginForward"/>).
/// </summary>
/// <remarks>
/// The first attempt runs outside this pipeline, for allocation: most requests never need a retry, and running each
/// through a Polly strategy cost an async frame and its box per request (bench/results/profile.md, "Second pass": that
/// step, with the deadlines pooled and the first attempt's span recorded only on failure, took 9,115 to 6,841 bytes
/// per request). So the pipeline's first execution is
/// the first retry: <see cref="ProxyRequestHandler"/> counts that one as it enters, Polly's <c>OnRetry</c> the rest.
/// </remarks>
internal static class RetryPipeline
{
    public static ResiliencePipeline<AttemptResult> Build(RetryOptions options, TimeProvider time, ProxyTelemetry telemetry)
    {
        // The first retry is the pipeline's first execution: with two attempts at most there is nothing to repeat.
        if (options.MaxAttempts <= 2)
        {
            return ResiliencePipeline<AttemptResult>.Empty;
        }

        return new ResiliencePipelineBuilder<AttemptResult> { Name = "retry", TimeProvider = time }
            .AddRetry(new RetryStrategyOptions<AttemptResult>
            {
                MaxRetryAttempts = options.MaxAttempts - 2,
                // The next attempt goes to another server: no reason to wait.
                Delay = TimeSpan.Zero,
                BackoffType = DelayBackoffType.Constant,
                UseJitter = false,
                // Whether a failure may be retried depends on the method, the body, what reached the server and the
                // deadline; the attempt decided it while it still knew (see ProxyRequestHandler.DecideRetry).
                ShouldHandle = static args => new ValueTask<bool>(args.Outcome.Exception is null && args.Outcome.Result.Retryable),
                OnRetry = args =>
                {
                    telemetry.Retried(args.Outcome.Result);
                    return default;
                },
            })
            .Build();
    }
}
