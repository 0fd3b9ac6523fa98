using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Globalization;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Proxy.Membership;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Telemetry;

/// <summary>The share of keys a membership change moved (ring versions <paramref name="From"/> → <paramref name="To"/>).</summary>
public sealed record RemapReport(long From, long To, double Share, DateTimeOffset At);
