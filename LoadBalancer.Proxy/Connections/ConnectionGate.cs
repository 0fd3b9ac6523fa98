using System.Diagnostics.Metrics;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Connections;

/// <summary>
/// Counts the client connections the proxy holds, across every listener, and refuses those over the limit
/// (<see cref="ConnectionOptions"/>): the process's descriptors are shared by all of them. Refusals are counted on the
/// meter (<see cref="RejectedName"/>) and logged at most once per <see cref="ConnectionOptions.RejectionLogInterval"/>.
/// </summary>
internal sealed partial class ConnectionGate
{
    /// <summary>The least derived limit, whatever the descriptor limit: a proxy that takes no connection is of no use.</summary>
    public const int MinimumLimit = 32;

    /// <summary>The counter of refused connections.</summary>
    public const string RejectedName = "loadbalancer.connections.rejected";

    /// <summary>The client connections open now.</summary>
    public const string OpenName = "loadbalancer.connections.open";

    /// <summary>The limit in force.</summary>
    public const string LimitName = "loadbalancer.connections.limit";

    /// <summary>Where an explicit limit comes from: Kestrel's own setting, so one knob means one thing.</summary>
    public const string KestrelLimitKey = "Kestrel:Limits:MaxConcurrentConnections";

    private readonly ILogger<ConnectionGate> _logger;
    private readonly TimeProvider _time;
    private readonly long _logIntervalTicks;
    private readonly TimeSpan _logInterval;
    private readonly Counter<long> _rejected;
    private int _open;
    private long _rejectedSinceLog;
    private long _nextLogAt = long.MinValue;

    /// <summary>Reads (and raises) the descriptor limit, settles the connection limit and logs both once.</summary>
    public ConnectionGate(
        IOptions<ConnectionOptions> options,
        IOptions<KestrelServerOptions> kestrel,
        IMeterFactory meterFactory,
        TimeProvider time,
        ILogger<ConnectionGate> logger)
    {
        _logger = logger;
        _time = time;
        var configured = options.Value;
        _logInterval = configured.RejectionLogInterval;
        _logIntervalTicks = (long)(_logInterval.TotalSeconds * time.TimestampFrequency);
        Limit = Settle(configured, kestrel.Value.Limits.MaxConcurrentConnections, DescriptorLimit.Read());

        var meter = meterFactory.Create(ProxyApplication.TelemetryName);
        _rejected = meter.CreateCounter<long>(RejectedName, "{connection}", "Client connections refused because the proxy held its limit of connections.");
        meter.CreateObservableUpDownCounter(OpenName, () => Volatile.Read(ref _open), "{connection}", "Client connections the proxy holds now.");
        meter.CreateObservableGauge(LimitName, () => Limit, "{connection}", "The most client connections the proxy holds at once.");
    }

    /// <summary>The most client connections held at once; <see cref="int.MaxValue"/> when nothing limits them.</summary>
    public int Limit { get; }

    /// <summary>The client connections held now.</summary>
    public int Open => Volatile.Read(ref _open);

    /// <summary>
    /// The derived limit: what is left of the soft descriptor limit after the reserve, times the client share, and
    /// at least <see cref="MinimumLimit"/>. The other share stays free for the upstream connection each forwarded
    /// request needs, so a front full of clients still leaves descriptors for forwarding, probes and threads.
    /// </summary>
    internal static int Derive(long softLimit, ConnectionOptions options) =>
        (int)Math.Clamp((long)((softLimit - options.ReservedDescriptors) * options.ClientShare), MinimumLimit, int.MaxValue);

    /// <summary>Takes a place for a new connection, or counts and reports a refusal when none is left.</summary>
    internal bool TryEnter()
    {
        if (Interlocked.Increment(ref _open) <= Limit)
        {
            return true;
        }

        Interlocked.Decrement(ref _open);
        Rejected();
        return false;
    }

    /// <summary>Gives back the place of a connection that has closed.</summary>
    internal void Exit() => Interlocked.Decrement(ref _open);

    private void Rejected()
    {
        _rejected.Add(1);
        Interlocked.Increment(ref _rejectedSinceLog);
        // One line per interval, whoever gets there first: a flood must not turn into a flood of log lines.
        var now = _time.GetTimestamp();
        var due = Volatile.Read(ref _nextLogAt);
        if (now >= due && Interlocked.CompareExchange(ref _nextLogAt, now + _logIntervalTicks, due) == due)
        {
            LogRejected(_logger, Interlocked.Exchange(ref _rejectedSinceLog, 0), Limit, _logInterval);
        }
    }

    private int Settle(ConnectionOptions options, long? explicitLimit, DescriptorLimitReading? descriptors)
    {
        if (descriptors is { } reading)
        {
            if (reading.RaiseError != 0)
            {
                LogRaiseFailed(_logger, reading.Soft, reading.Hard, reading.RaiseError);
            }
            else if (reading.SoftBefore != reading.Soft)
            {
                LogRaised(_logger, reading.SoftBefore, reading.Soft);
            }

            var derived = Derive(reading.Soft, options);
            if (explicitLimit is { } value)
            {
                var limit = (int)Math.Min(value, int.MaxValue);
                LogExplicit(_logger, reading.Soft, reading.Hard, limit, KestrelLimitKey);
                if (limit > derived)
                {
                    LogExplicitOverBudget(_logger, KestrelLimitKey, limit, reading.Soft, derived);
                }

                return limit;
            }

            LogDerived(_logger, reading.Soft, reading.Hard, derived, options.ReservedDescriptors, options.ClientShare);
            if (reading.Soft < 2L * options.ReservedDescriptors)
            {
                LogLowDescriptorLimit(_logger, reading.Soft, options.ReservedDescriptors);
            }

            return derived;
        }

        if (explicitLimit is { } configured)
        {
            var limit = (int)Math.Min(configured, int.MaxValue);
            LogExplicitUnknownDescriptors(_logger, limit, KestrelLimitKey);
            return limit;
        }

        LogUnknownDescriptors(_logger, KestrelLimitKey);
        return int.MaxValue;
    }

    [LoggerMessage(EventId = 700, Level = LogLevel.Information, Message = "Descriptor limit {Soft} (hard limit {Hard}): client connections limited to {Limit}, derived as (descriptor limit − {Reserved}) × {Share}")]
    private static partial void LogDerived(ILogger logger, long soft, long hard, int limit, int reserved, double share);

    [LoggerMessage(EventId = 701, Level = LogLevel.Information, Message = "Descriptor limit {Soft} (hard limit {Hard}): client connections limited to {Limit} by {Setting}")]
    private static partial void LogExplicit(ILogger logger, long soft, long hard, int limit, string setting);

    [LoggerMessage(EventId = 702, Level = LogLevel.Warning, Message = "Could not raise the descriptor limit from {Soft} to the hard limit {Hard} (errno {Errno}): the connection limit is derived from the soft one")]
    private static partial void LogRaiseFailed(ILogger logger, long soft, long hard, int errno);

    [LoggerMessage(EventId = 703, Level = LogLevel.Warning, Message = "The descriptor limit {Soft} leaves little beyond the {Reserved} descriptors kept for the process itself: raise it (ulimit -n, LimitNOFILE=, --ulimit nofile=) or the proxy holds few connections")]
    private static partial void LogLowDescriptorLimit(ILogger logger, long soft, int reserved);

    [LoggerMessage(EventId = 704, Level = LogLevel.Warning, Message = "{Setting} = {Limit} is more than the {Derived} client connections the descriptor limit {Soft} leaves room for: a flood can exhaust the descriptors, and then probes, forwarding and even new threads fail")]
    private static partial void LogExplicitOverBudget(ILogger logger, string setting, int limit, long soft, int derived);

    [LoggerMessage(EventId = 705, Level = LogLevel.Information, Message = "The descriptor limit cannot be read on this system: client connections limited to {Limit} by {Setting}")]
    private static partial void LogExplicitUnknownDescriptors(ILogger logger, int limit, string setting);

    [LoggerMessage(EventId = 706, Level = LogLevel.Information, Message = "The descriptor limit cannot be read on this system: client connections are not limited unless {Setting} is set")]
    private static partial void LogUnknownDescriptors(ILogger logger, string setting);

    [LoggerMessage(EventId = 708, Level = LogLevel.Information, Message = "Raised the soft descriptor limit from {Before} to the hard limit {Soft}")]
    private static partial void LogRaised(ILogger logger, long before, long soft);

    [LoggerMessage(EventId = 707, Level = LogLevel.Warning, Message = "Refused {Refused} client connection(s) since the last report: the proxy holds its limit of {Limit} connections (reported at most once per {Interval})")]
    private static partial void LogRejected(ILogger logger, long refused, int limit, TimeSpan interval);
}
