using LoadBalancer.Proxy.Connections;
using LoadBalancer.Tests.Infrastructure;
using LoadBalancer.Tests.Telemetry;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancer.Tests.Connections;

/// <summary>The connection limit's arithmetic, and what the gate counts and logs when it refuses.</summary>
[Trait(TestCategories.Name, TestCategories.Unit)]
public sealed class ConnectionGateTests
{
    [Theory]
    [InlineData(1024, 256)] // a common default soft limit
    [InlineData(20_000, 9744)]
    [InlineData(1_048_576, 524_032)] // Docker's default
    [InlineData(560, ConnectionGate.MinimumLimit)] // little beyond the reserve: the floor
    [InlineData(100, ConnectionGate.MinimumLimit)] // less than the reserve
    public void The_default_limit_is_half_of_the_descriptors_beyond_the_reserve(long descriptors, int expected) =>
        Assert.Equal(expected, ConnectionGate.Derive(descriptors, new ConnectionOptions()));

    [Fact]
    public void Reserve_and_share_are_the_settings_of_the_derivation() =>
        Assert.Equal(900, ConnectionGate.Derive(1100, new ConnectionOptions { ReservedDescriptors = 100, ClientShare = 0.9 }));

    [Fact]
    public void Kestrels_explicit_limit_wins_over_the_derived_one()
    {
        using var setup = new GateSetup(explicitLimit: 3);

        Assert.Equal(3, setup.Gate.Limit);
    }

    [Fact]
    public void Without_an_explicit_limit_it_is_derived_from_the_descriptor_limit()
    {
        using var setup = new GateSetup(explicitLimit: null);

        var soft = long.Parse(File.ReadAllLines("/proc/self/limits").Single(l => l.StartsWith("Max open files", StringComparison.Ordinal))
            .Split(' ', StringSplitOptions.RemoveEmptyEntries)[3], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(ConnectionGate.Derive(soft, new ConnectionOptions()), setup.Gate.Limit);
        Assert.Contains(setup.Logs.Messages, m => m.StartsWith($"Descriptor limit {soft} ", StringComparison.Ordinal));
    }

    [Fact]
    public void Connections_over_the_limit_are_refused_counted_each_and_logged_once_per_interval()
    {
        using var setup = new GateSetup(explicitLimit: 2);
        var gate = setup.Gate;

        Assert.True(gate.TryEnter());
        Assert.True(gate.TryEnter());
        for (var i = 0; i < 50; i++)
        {
            Assert.False(gate.TryEnter());
        }

        Assert.Equal(2, gate.Open);
        Assert.Equal(["Refused 1 client connection(s) since the last report: the proxy holds its limit of 2 connections (reported at most once per 00:00:10)"], setup.Refusals());

        // Within the interval: counted, not logged; once it has passed, the next refusal reports those held back.
        setup.Time.Advance(TimeSpan.FromSeconds(9));
        Assert.False(gate.TryEnter());
        Assert.Single(setup.Refusals());
        setup.Time.Advance(TimeSpan.FromSeconds(1));
        Assert.False(gate.TryEnter());
        Assert.Equal(2, setup.Refusals().Length);
        Assert.Equal("Refused 51 client connection(s) since the last report: the proxy holds its limit of 2 connections (reported at most once per 00:00:10)", setup.Refusals()[1]);

        Assert.Equal(52, setup.Metrics.Of(ConnectionGate.RejectedName).Sum(m => m.Value));
    }

    [Fact]
    public void A_closed_connection_gives_its_place_back()
    {
        using var setup = new GateSetup(explicitLimit: 1);
        var gate = setup.Gate;

        Assert.True(gate.TryEnter());
        Assert.False(gate.TryEnter());
        gate.Exit();

        Assert.True(gate.TryEnter());
        setup.Metrics.RecordObservable();
        Assert.Equal(1, setup.Metrics.Of(ConnectionGate.OpenName).Last().Value);
        Assert.Equal(1, setup.Metrics.Of(ConnectionGate.LimitName).Last().Value);
    }

    [Fact]
    public void An_explicit_limit_beyond_what_the_descriptors_allow_is_warned_about()
    {
        using var setup = new GateSetup(explicitLimit: int.MaxValue);

        Assert.Contains(setup.Logs.Messages, m => m.StartsWith($"{ConnectionGate.KestrelLimitKey} = {int.MaxValue} is more than the ", StringComparison.Ordinal));
    }

    private sealed class GateSetup : IDisposable
    {
        private readonly ServiceProvider _provider;

        public GateSetup(long? explicitLimit)
        {
            _provider = new ServiceCollection().AddMetrics().BuildServiceProvider();
            var meters = _provider.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>();
            Metrics = new TelemetryTestKit.Recorder(meters);
            var kestrel = new KestrelServerOptions();
            kestrel.Limits.MaxConcurrentConnections = explicitLimit;
            Gate = new ConnectionGate(
                Options.Create(new ConnectionOptions()),
                Options.Create(kestrel),
                meters,
                Time,
                new Logger<ConnectionGate>(new LoggerFactory([Logs])));
        }

        public FakeTimeProvider Time { get; } = new(DateTimeOffset.UtcNow);

        public LogCollector Logs { get; } = new();

        public TelemetryTestKit.Recorder Metrics { get; }

        public ConnectionGate Gate { get; }

        public string[] Refusals() => Logs.Messages.Where(m => m.StartsWith("Refused ", StringComparison.Ordinal)).ToArray();

        public void Dispose()
        {
            Metrics.Dispose();
            _provider.Dispose();
        }
    }
}
