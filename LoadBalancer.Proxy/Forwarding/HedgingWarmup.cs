using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// At start, runs one hedge through Polly's hedging in memory (<see cref="HedgingPipeline.WarmAsync"/>), so the first
/// hedge for real, which comes just when a server hangs, is not slowed by compiling it.
/// </summary>
internal sealed class HedgingWarmup(IOptions<HedgingOptions> options, TimeProvider time) : IHostedService
{
    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken) =>
        options.Value.Enabled ? HedgingPipeline.WarmAsync(time) : Task.CompletedTask;

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
}
