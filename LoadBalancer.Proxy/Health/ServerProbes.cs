using System.Net;
using System.Net.Http;
using LoadBalancer.Proxy.Admin;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Common;
using LoadBalancer.Proxy.Forwarding;
using Microsoft.Extensions.Options;
using OpenTelemetry;

namespace LoadBalancer.Proxy.Health;

/// <summary>
/// Probes <c>GET /heartbeat</c> (configurable) on every ring server each interval: a server failing
/// <see cref="HealthOptions.FailuresToLeave"/> probes in a row leaves routing, one passing
/// <see cref="HealthOptions.PassesToRejoin"/> in a row rejoins. Only availability flips; the table is not rebuilt,
/// so only the server's own keys move.
/// </summary>
public sealed partial class ServerProbes : BackgroundService
{
    private readonly TableState _ring;
    private readonly ServerAvailability _availability;
    private readonly HealthOptions _options;
    private readonly TimeProvider _time;
    private readonly ILogger<ServerProbes> _logger;
    private readonly HttpMessageInvoker _invoker;
    private readonly ServerProtocol _protocol;
    private readonly Random _random;
    private readonly Dictionary<BackendServer, Streak> _streaks = new(ReferenceEqualityComparer.Instance);

    /// <summary>Creates the checker.</summary>
    public ServerProbes(
        TableState ring,
        ServerAvailability availability,
        IOptions<HealthOptions> options,
        IOptions<ForwardingOptions> forwarding,
        TimeProvider time,
        IRandomFactory random,
        ILogger<ServerProbes> logger)
    {
        // Only the probe loop draws from it, one draw per round.
        _random = random.Create();
        _ring = ring;
        _availability = availability;
        _options = options.Value;
        _time = time;
        _logger = logger;
        _protocol = forwarding.Value.ServerProtocol;
        // Its own small pool: a probe must not queue behind client traffic, and it sends no trace headers.
        _invoker = new HttpMessageInvoker(new SocketsHttpHandler
        {
            UseProxy = false,
            AllowAutoRedirect = false,
            UseCookies = false,
            ConnectTimeout = _options.Timeout,
            PooledConnectionIdleTimeout = _options.Interval * 5,
            ActivityHeadersPropagator = null,
        });
    }

    /// <inheritdoc />
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Enabled)
        {
            return;
        }

        while (!stoppingToken.IsCancellationRequested)
        {
            // Rounds start on a fixed cadence: a round waits for its slowest probe (a hung server takes the whole
            // timeout), and waiting the full interval after that would leave a hung server in for longer.
            var startedAt = _time.GetTimestamp();
            await ProbeAllAsync(stoppingToken).ConfigureAwait(false);
            var wait = NextDelay() - _time.GetElapsedTime(startedAt);
            try
            {
                if (wait > TimeSpan.Zero)
                {
                    await Task.Delay(wait, _time, stoppingToken).ConfigureAwait(false);
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>The time from one probe round's start to the next's: the interval, spread by <see cref="HealthOptions.Jitter"/>.</summary>
    internal TimeSpan NextDelay() =>
        _options.Jitter == 0 ? _options.Interval : _options.Interval * (1 + (_options.Jitter * ((2 * _random.NextDouble()) - 1)));

    /// <summary>Runs one probe round over the current ring servers and applies the results.</summary>
    public async Task ProbeAllAsync(CancellationToken cancellationToken)
    {
        var snapshot = _ring.Current;
        if (snapshot is null)
        {
            return;
        }

        var servers = snapshot.Table.Servers;
        var probes = new Task<bool>[servers.Length];
        // Probes every second per server would bury the request traces: they are not traced.
        using (SuppressInstrumentationScope.Begin())
        {
            for (var i = 0; i < servers.Length; i++)
            {
                probes[i] = ProbeAsync(servers[i], cancellationToken);
            }
        }

        var passed = await Task.WhenAll(probes).ConfigureAwait(false);
        if (cancellationToken.IsCancellationRequested)
        {
            return;
        }

        lock (_streaks)
        {
            for (var i = 0; i < servers.Length; i++)
            {
                Apply(servers[i], passed[i]);
            }

            // Servers gone from the ring start afresh if they come back.
            foreach (var gone in _streaks.Keys.Where(m => !servers.Contains(m)).ToArray())
            {
                _streaks.Remove(gone);
            }
        }
    }

    private void Apply(BackendServer server, bool passed)
    {
        var streak = _streaks.GetValueOrDefault(server);
        streak = passed ? new Streak(0, streak.Passes + 1) : new Streak(streak.Failures + 1, 0);
        _streaks[server] = streak;

        var probedOut = (server.UnavailableReasons & UnavailableReasons.HealthProbe) != 0;
        if (!passed && !probedOut && streak.Failures >= _options.FailuresToLeave)
        {
            LogProbesFailed(_logger, server.Name, streak.Failures);
            _availability.Set(server, UnavailableReasons.HealthProbe, unavailable: true);
        }
        else if (passed && probedOut && streak.Passes >= _options.PassesToRejoin)
        {
            _availability.Set(server, UnavailableReasons.HealthProbe, unavailable: false);
        }
    }

    private async Task<bool> ProbeAsync(BackendServer server, CancellationToken cancellationToken)
    {
        using var timeout = new CancellationTokenSource(_options.Timeout, _time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeout.Token);
        try
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(server.Address, _options.Path))
            {
                Version = _protocol.RequestVersion(),
                VersionPolicy = _protocol.VersionPolicy(),
            };
            using var response = await _invoker.SendAsync(request, linked.Token).ConfigureAwait(false);
            return response.StatusCode is >= HttpStatusCode.OK and < HttpStatusCode.MultipleChoices;
        }
        catch (Exception ex) when (!cancellationToken.IsCancellationRequested)
        {
            LogProbeFailed(_logger, server.Name, ex.GetType().Name, ex.Message);
            return false;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    /// <inheritdoc />
    public override void Dispose()
    {
        _invoker.Dispose();
        base.Dispose();
    }

    private readonly record struct Streak(int Failures, int Passes);

    [LoggerMessage(EventId = 320, Level = LogLevel.Debug, Message = "Health probe of {Server} failed: {ErrorType}: {Error}")]
    private static partial void LogProbeFailed(ILogger logger, string server, string errorType, string error);

    [LoggerMessage(EventId = 321, Level = LogLevel.Warning, Message = "Server {Server} failed {Failures} health probes in a row")]
    private static partial void LogProbesFailed(ILogger logger, string server, int failures);
}
