using System.Net.Http;
using Polly;
using Polly.Hedging;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// Builds, once, the Polly hedging pipeline that takes over a hedgeable attempt whose first send is still waiting
/// after <see cref="HedgingOptions.Delay"/> (see <see cref="ProxyRequestHandler.SendHedgedAsync"/>): that wait is
/// timed outside Polly, so the pipeline sends its one hedge at once.
/// </summary>
internal static class HedgingPipeline
{
    /// <summary>The request being hedged, on the resilience context of its attempt.</summary>
    public static readonly ResiliencePropertyKey<ForwardingRequest> RequestKey = new("loadbalancer.request");

    public static ResiliencePipeline<HttpResponseMessage> Build(
        HedgingOptions options,
        TimeProvider time,
        Func<HedgingActionGeneratorArguments<HttpResponseMessage>, Func<ValueTask<Outcome<HttpResponseMessage>>>?> hedge)
    {
        if (!options.Enabled)
        {
            return ResiliencePipeline<HttpResponseMessage>.Empty;
        }

        return new ResiliencePipelineBuilder<HttpResponseMessage> { Name = "hedging", TimeProvider = time }
            .AddHedging(new HedgingStrategyOptions<HttpResponseMessage>
            {
                MaxHedgedAttempts = 1,
                // The delay has passed already (HedgeRace): the hedge goes out now, beside the first send.
                Delay = TimeSpan.Zero,
                // Before a hedge is out, a failure is the attempt's own, for the retry to handle as any other; once one
                // is out, a failure of either send waits for the other.
                ShouldHandle = static args => new ValueTask<bool>(
                    IsFailure(args.Outcome)
                    && args.Context.Properties.TryGetValue(RequestKey, out var request)
                    && request.HedgeServer is not null),
                ActionGenerator = hedge,
            })
            .Build();
    }

    /// <summary>
    /// Runs one hedge through a pipeline built as the proxy's, with sends in memory: a first send that waits until it
    /// is cancelled and a hedge that answers at once. The first real hedge comes when a server hangs, so without this
    /// it would also pay for compiling Polly's hedging (tens of milliseconds: docs/benchmarks.md, "Failover side by
    /// side"). Returns whether the hedge's answer came back, so the hedging branch did run.
    /// </summary>
    public static async Task<bool> WarmAsync(TimeProvider time)
    {
        using var answer = new HttpResponseMessage();
        var pipeline = Build(new HedgingOptions(), time, static args =>
        {
            var answer = args.PrimaryContext.Properties.GetValue(WarmAnswerKey, null!);
            return () => new ValueTask<Outcome<HttpResponseMessage>>(Outcome.FromResult(answer));
        });
        var context = ResilienceContextPool.Shared.Get();
        context.Properties.Set(WarmAnswerKey, answer);
        try
        {
            var outcome = await pipeline.ExecuteOutcomeAsync(
                static async (context, _) =>
                {
                    try
                    {
                        await Task.Delay(Timeout.Infinite, context.CancellationToken).ConfigureAwait(false);
                    }
                    catch (OperationCanceledException exception)
                    {
                        return Outcome.FromException<HttpResponseMessage>(exception);
                    }

                    return Outcome.FromResult<HttpResponseMessage>(null!);
                },
                context,
                0).ConfigureAwait(false);
            return ReferenceEquals(outcome.Result, answer);
        }
        finally
        {
            ResilienceContextPool.Shared.Return(context);
        }
    }

    private static readonly ResiliencePropertyKey<HttpResponseMessage> WarmAnswerKey = new("loadbalancer.warm-answer");

    private static bool IsFailure(in Outcome<HttpResponseMessage> outcome) =>
        outcome.Exception is { } exception
            ? exception is not OperationCanceledException
            : RetryAwareTransformer.IsRetryableStatus((int)outcome.Result!.StatusCode);
}
