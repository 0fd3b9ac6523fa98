namespace LoadBalancer.Proxy.Telemetry;

/// <summary>The share of keys a membership change moved (ring versions <paramref name="From"/> → <paramref name="To"/>).</summary>
public sealed record RemapReport(long From, long To, double Share, DateTimeOffset At);
