using LoadBalancer.Proxy.Balancing;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// With <see cref="HedgingOptions.DelayPercentile"/> set, sets each ring server's hedging delay from its recent answer
/// times once a second (<see cref="AnswerTimes.Update"/>); off, it does nothing.
/// </summary>
internal sealed class HedgeDelays(TableState ring, IOptions<HedgingOptions> options, TimeProvider time) : BackgroundService
{
    /// <summary>How often the delays follow the answer times, which halve their weight as often.</summary>
    public static readonly TimeSpan Period = TimeSpan.FromSeconds(1);

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var hedging = options.Value;
        if (!hedging.Enabled || hedging.DelayPercentile <= 0)
        {
            return;
        }

        using var timer = new PeriodicTimer(Period, time);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false))
            {
                if (ring.Current is { } snapshot)
                {
                    foreach (var server in snapshot.Table.Servers)
                    {
                        server.AnswerTimes.Update(hedging.DelayPercentile, hedging.MinDelay, hedging.Delay);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }
}
