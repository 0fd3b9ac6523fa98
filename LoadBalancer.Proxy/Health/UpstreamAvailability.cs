using LoadBalancer.Proxy.Ring;

namespace LoadBalancer.Proxy.Health;

/// <summary>
/// The one place that takes members out of routing and lets them back, for active probes and breakers alike,
/// so every leave and rejoin is logged and counted the same way.
/// </summary>
public sealed partial class UpstreamAvailability(HealthMetrics metrics, ILogger<UpstreamAvailability> logger)
{
    /// <summary>Sets or clears <paramref name="reason"/> on <paramref name="member"/>; logs and counts when it leaves or rejoins.</summary>
    public void Set(Upstream member, UnavailableReasons reason, bool unavailable)
    {
        if (!member.SetUnavailable(reason, unavailable))
        {
            return;
        }

        var source = reason == UnavailableReasons.HealthProbe ? "health_probe" : "circuit_breaker";
        metrics.AvailabilityChanged(member.Name, available: !unavailable, source);
        if (unavailable)
        {
            LogLeft(logger, member.Name, reason);
        }
        else
        {
            LogRejoined(logger, member.Name, reason);
        }
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "Member {Member} left routing ({Reason}); its keys move to the next members on the ring")]
    private static partial void LogLeft(ILogger logger, string member, UnavailableReasons reason);

    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "Member {Member} rejoined routing ({Reason} cleared); its keys come back")]
    private static partial void LogRejoined(ILogger logger, string member, UnavailableReasons reason);
}
