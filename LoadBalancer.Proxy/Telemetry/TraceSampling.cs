using System.Globalization;
using OpenTelemetry.Trace;

namespace LoadBalancer.Proxy.Telemetry;

/// <summary>
/// The tracer's sampler: <see cref="TelemetryOptions.TraceSampleRatio"/>, parent-based, when it is configured; otherwise
/// OpenTelemetry's standard <c>OTEL_TRACES_SAMPLER</c> (and <c>OTEL_TRACES_SAMPLER_ARG</c>) when set, as an operator
/// sets it for every service alike; otherwise every trace, parent-based. The proxy's own setting goes first because the
/// AppHost sets <c>OTEL_TRACES_SAMPLER</c> for every resource in run mode. An unknown sampler name or argument is logged
/// and ignored, as the OpenTelemetry specification asks.
/// </summary>
internal static partial class TraceSampling
{
    /// <summary>The standard variable naming the sampler.</summary>
    public const string SamplerKey = "OTEL_TRACES_SAMPLER";

    /// <summary>The standard variable with the sampler's argument (a ratio for the <c>traceidratio</c> ones).</summary>
    public const string ArgumentKey = "OTEL_TRACES_SAMPLER_ARG";

    private const string RatioKey = TelemetryOptions.SectionName + ":" + nameof(TelemetryOptions.TraceSampleRatio);

    public static Sampler Create(IConfiguration configuration, double traceSampleRatio, ILogger logger)
    {
        if (configuration[RatioKey] is null && configuration[SamplerKey] is { Length: > 0 } name)
        {
            if (FromStandard(name, configuration[ArgumentKey]) is { } standard)
            {
                return standard;
            }

            LogUnknownSampler(logger, name, configuration[ArgumentKey]);
        }

        return traceSampleRatio < 1
            ? new ParentBasedSampler(new TraceIdRatioBasedSampler(traceSampleRatio))
            : new ParentBasedSampler(new AlwaysOnSampler());
    }

    private static Sampler? FromStandard(string name, string? argument)
    {
        // The specification's default ratio is 1; a ratio outside [0, 1] is not one.
        double? ratio = string.IsNullOrEmpty(argument) ? 1.0
            : double.TryParse(argument, NumberStyles.Float, CultureInfo.InvariantCulture, out var parsed) && parsed is >= 0 and <= 1 ? parsed
            : null;
        return name.Trim().ToLowerInvariant() switch
        {
            "always_on" => new AlwaysOnSampler(),
            "always_off" => new AlwaysOffSampler(),
            "traceidratio" when ratio is { } r => new TraceIdRatioBasedSampler(r),
            "parentbased_always_on" => new ParentBasedSampler(new AlwaysOnSampler()),
            "parentbased_always_off" => new ParentBasedSampler(new AlwaysOffSampler()),
            "parentbased_traceidratio" when ratio is { } r => new ParentBasedSampler(new TraceIdRatioBasedSampler(r)),
            _ => null,
        };
    }

    [LoggerMessage(EventId = 610, Level = LogLevel.Warning, Message = "OTEL_TRACES_SAMPLER '{Sampler}' (argument '{Argument}') is not a sampler the proxy knows; Telemetry:TraceSampleRatio applies")]
    private static partial void LogUnknownSampler(ILogger logger, string sampler, string? argument);
}
