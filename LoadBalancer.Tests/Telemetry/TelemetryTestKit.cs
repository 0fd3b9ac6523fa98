using System.Diagnostics;
using System.Diagnostics.Metrics;
using LoadBalancer.Proxy;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Membership;
using LoadBalancer.Proxy.Telemetry;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace LoadBalancer.Tests.Telemetry;

/// <summary>Helpers shared by the telemetry tests: servers behind a proxy, and measurements read back.</summary>
internal static class TelemetryTestKit
{
    /// <summary>Starts <paramref name="count"/> real servers (ids 1…count) and a proxy in front of them.</summary>
    public static async Task<(TestHost Proxy, TestHost[] Servers)> StartAsync(int count, Action<IServiceCollection>? services = null)
    {
        var servers = new TestHost[count];
        for (var i = 0; i < count; i++)
        {
            servers[i] = await TestHost.StartServerAsync((i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
        }

        var proxy = await TestHost.StartProxyAsync(
            servers.Select((s, i) => KeyValuePair.Create($"server{i + 1}", s.Address)),
            services: services);
        return (proxy, servers);
    }

    /// <summary>Adds tracing of the proxy, ASP.NET Core and HttpClient to an in-memory list.</summary>
    public static Action<IServiceCollection> TraceInto(List<Activity> exported) => services =>
        services.AddOpenTelemetry().WithTracing(tracing => tracing
            .AddSource(ProxyApplication.TelemetryName)
            .AddAspNetCoreInstrumentation()
            .AddHttpClientInstrumentation()
            .AddInMemoryExporter(exported));

    /// <summary>Exported spans of <paramref name="traceId"/>; the list is written by exporter threads meanwhile.</summary>
    public static Activity[] SpansOf(List<Activity> exported, ActivityTraceId traceId)
    {
        while (true)
        {
            try
            {
                return exported.ToArray().Where(a => a is not null && a.TraceId == traceId).ToArray();
            }
            catch (ArgumentException)
            {
                // The list grew while being copied: copy again.
            }
        }
    }

    /// <summary>Starts a sampled root span of the test's own, so its trace id tells this test's spans apart.</summary>
    public static Activity StartRoot()
    {
        var root = new Activity("test-root");
        root.SetParentId(ActivityTraceId.CreateRandom(), ActivitySpanId.CreateRandom(), ActivityTraceFlags.Recorded);
        return root.Start();
    }

    /// <summary>A standalone <see cref="ProxyTelemetry"/> over <paramref name="ring"/> with its own meter factory.</summary>
    public static (ProxyTelemetry Telemetry, IMeterFactory Meters, ServiceProvider Provider) CreateTelemetry(TableState ring, int remapSampleKeys = 20_000)
    {
        var provider = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var meters = provider.GetRequiredService<IMeterFactory>();
        var telemetry = new ProxyTelemetry(
            meters,
            ring,
            Options.Create(new TelemetryOptions { RemapSampleKeys = remapSampleKeys }),
            TimeProvider.System,
            NullLogger<ProxyTelemetry>.Instance);
        return (telemetry, meters, provider);
    }

    /// <summary>Builds a ring snapshot of servers named <paramref name="names"/>.</summary>
    public static TableSnapshot Snapshot(long version, params BackendServer[] servers)
    {
        var options = new BalancingOptions();
        var hash = BalancingAlgorithms.CreateHash(options);
        return new TableSnapshot(BalancingAlgorithms.Create(options).Build(servers, hash), hash, version);
    }

    public static BackendServer Server(string name, int port) => new(name, new Uri($"http://127.0.0.1:{port}/"));

    /// <summary>Records every long/int/double measurement of <paramref name="meterScope"/>'s proxy meter, with its tags.</summary>
    public sealed class Recorder : IDisposable
    {
        private readonly MeterListener _listener = new();
        private readonly List<(string Instrument, double Value, Dictionary<string, object?> Tags)> _measurements = [];

        public Recorder(object meterScope)
        {
            _listener.InstrumentPublished = (instrument, listener) =>
            {
                if (instrument.Meter.Name == ProxyApplication.TelemetryName && ReferenceEquals(instrument.Meter.Scope, meterScope))
                {
                    listener.EnableMeasurementEvents(instrument);
                }
            };
            _listener.SetMeasurementEventCallback<long>((i, v, t, _) => Add(i, v, t));
            _listener.SetMeasurementEventCallback<int>((i, v, t, _) => Add(i, v, t));
            _listener.SetMeasurementEventCallback<double>((i, v, t, _) => Add(i, v, t));
            _listener.Start();
        }

        public void RecordObservable() => _listener.RecordObservableInstruments();

        public (double Value, Dictionary<string, object?> Tags)[] Of(string instrument)
        {
            lock (_measurements)
            {
                return _measurements.Where(m => m.Instrument == instrument).Select(m => (m.Value, m.Tags)).ToArray();
            }
        }

        public void Dispose() => _listener.Dispose();

        private void Add(Instrument instrument, double value, ReadOnlySpan<KeyValuePair<string, object?>> tags)
        {
            var copy = new Dictionary<string, object?>();
            foreach (var tag in tags)
            {
                copy[tag.Key] = tag.Value;
            }

            lock (_measurements)
            {
                _measurements.Add((instrument.Name, value, copy));
            }
        }
    }
}
