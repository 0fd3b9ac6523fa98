using LoadBalancer.Proxy.Balancing;

namespace LoadBalancer.Proxy.Health;

/// <summary>
/// The one place that takes servers out of routing and lets them back, for active probes and breakers alike,
/// so every leave and rejoin is logged and counted the same way.
/// </summary>
public sealed partial class ServerAvailability(HealthMetrics metrics, ILogger<ServerAvailability> logger)
{
    /// <summary>Sets or clears <paramref name="reason"/> on <paramref name="server"/>; logs and counts when it leaves or rejoins.</summary>
    public void Set(BackendServer server, UnavailableReasons reason, bool unavailable)
    {
        if (!server.SetUnavailable(reason, unavailable))
        {
            return;
        }

        var source = reason switch
        {
            UnavailableReasons.HealthProbe => "health_probe",
            UnavailableReasons.Outpaced => "outpaced",
            _ => "circuit_breaker",
        };
        metrics.AvailabilityChanged(server.Name, available: !unavailable, source);
        if (unavailable)
        {
            LogLeft(logger, server.Name, reason);
        }
        else
        {
            LogRejoined(logger, server.Name, reason);
        }
    }

    [LoggerMessage(EventId = 300, Level = LogLevel.Warning, Message = "Server {Server} left routing ({Reason}); its keys move to the next servers on the ring")]
    private static partial void LogLeft(ILogger logger, string server, UnavailableReasons reason);

    [LoggerMessage(EventId = 301, Level = LogLevel.Information, Message = "Server {Server} rejoined routing ({Reason} cleared); its keys come back")]
    private static partial void LogRejoined(ILogger logger, string server, UnavailableReasons reason);
}
