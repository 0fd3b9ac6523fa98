using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Connections;

/// <summary>
/// A flood of idle connections against the real proxy process at its default settings, with its descriptor limit
/// lowered to 1024: more connections than it has descriptors. Without a connection limit the proxy ran out of
/// descriptors, its probes and forwarding failed, and the runtime died ("Out of memory.": a thread cannot start without
/// a descriptor).
/// </summary>
[Collection(LoadCollection.Name)]
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class ConnectionFloodTests
{
    private const int DescriptorLimit = 1024;

    // (1024 − 512 reserved) × 0.5: the default derivation.
    private const int ExpectedLimit = 256;

    // More than the process has descriptors, so that without the limit it runs out of them.
    private const int FloodConnections = 1200;

    [Fact]
    public async Task More_connections_than_descriptors_leave_the_proxy_up_forwarding_and_probing()
    {
        await using var server1 = await TestHost.StartServerAsync("1");
        await using var server2 = await TestHost.StartServerAsync("2");
        await using var proxy = await ProxyProcess.StartAsync(
            DescriptorLimit,
            [KeyValuePair.Create("server1", server1.Address), KeyValuePair.Create("server2", server2.Address)],
            new Dictionary<string, string> { ["Telemetry:PrometheusPath"] = "/metrics" });
        var endpoint = new IPEndPoint(IPAddress.Loopback, proxy.Address.Port);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(120));

        // A client that connected before the flood keeps its one connection (the connect callback counts them).
        var connects = 0;
        using var handler = new SocketsHttpHandler
        {
            MaxConnectionsPerServer = 1,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectCallback = async (context, cancellationToken) =>
            {
                Interlocked.Increment(ref connects);
                var socket = await ConnectionLimitTests.ConnectAsync(endpoint, cancellationToken);
                return new NetworkStream(socket, ownsSocket: true);
            },
        };
        using var held = new HttpClient(handler) { BaseAddress = proxy.Address, Timeout = TimeSpan.FromSeconds(10) };
        await AssertForwardsAsync(held);

        var flood = new List<Socket>(FloodConnections);
        try
        {
            await FloodAsync(endpoint, flood, timeout.Token);

            // While the flood is held, the proxy still forwards and probes: a few probe rounds (1 s each, 2 failures
            // to leave) pass while the front is full, and both servers stay in.
            await Task.Delay(TimeSpan.FromSeconds(3), timeout.Token);
            Assert.False(proxy.HasExited, proxy.OutputText);
            await AssertForwardsAsync(held);
            await AssertBothServersUpAsync(held);

            // Every flood connection was taken (the kernel completes the handshake; the proxy accepts it), and the proxy
            // keeps what fits under its limit (the held client has one place) and has closed the rest...
            Assert.Equal(FloodConnections, flood.Count);
            Assert.Equal(ExpectedLimit - 1, await WaitForKeptAsync(flood, ExpectedLimit - 1, timeout.Token));

            // ...and a new connection is refused at once, not left hanging.
            using (var over = await ConnectionLimitTests.ConnectAsync(endpoint, timeout.Token))
            {
                using var quick = CancellationTokenSource.CreateLinkedTokenSource(timeout.Token);
                quick.CancelAfter(TimeSpan.FromSeconds(10));
                Assert.Null(await ConnectionLimitTests.RequestAsync(over, "/health", quick.Token));
            }

            var metrics = await held.GetStringAsync("/metrics", timeout.Token);
            Assert.Equal(ExpectedLimit, Metric(metrics, "loadbalancer_connections_limit"));
            Assert.Equal(ExpectedLimit, Metric(metrics, "loadbalancer_connections_open"));
            Assert.True(Metric(metrics, "loadbalancer_connections_rejected_total") >= FloodConnections - ExpectedLimit + 2);
            Assert.Equal(1, Volatile.Read(ref connects));
        }
        finally
        {
            flood.ForEach(s => s.Dispose());
        }

        // When the flood ends, new clients are served again.
        using var after = new HttpClient { BaseAddress = proxy.Address, Timeout = TimeSpan.FromSeconds(10) };
        await RetryUntilServedAsync(after, timeout.Token);
        await AssertBothServersUpAsync(after);

        Assert.False(proxy.HasExited, proxy.OutputText);
        var log = proxy.OutputText;
        Assert.Contains($"Descriptor limit {DescriptorLimit} (hard limit {DescriptorLimit}): client connections limited to {ExpectedLimit}", log, StringComparison.Ordinal);
        Assert.DoesNotContain("left routing", log, StringComparison.Ordinal);
        Assert.DoesNotContain("Out of memory", log, StringComparison.Ordinal);
        // Nearly a thousand refusals, a line or two about them (one per 10 s at most).
        var reports = proxy.Output.Count(line => line.Contains("client connection(s) since the last report", StringComparison.Ordinal));
        Assert.InRange(reports, 1, 3);
    }

    [Fact]
    public async Task The_limit_is_derived_from_the_hard_descriptor_limit_when_the_soft_one_is_lower()
    {
        await using var proxy = await ProxyProcess.StartAsync(
            descriptorLimit: 1024,
            [KeyValuePair.Create("server1", ProxyProbe.RefusedAddress())],
            new Dictionary<string, string> { ["Health:Enabled"] = "false" },
            hardLimit: 2048);

        // Raised to the hard limit at start (the runtime does it too), then (2048 − 512) × 0.5.
        Assert.Contains("Descriptor limit 2048 (hard limit 2048): client connections limited to 768", proxy.OutputText, StringComparison.Ordinal);
    }

    private static async Task AssertForwardsAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/heartbeat?id=flood");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.StartsWith("server", ProxyProbe.ServerOf(response), StringComparison.Ordinal);
    }

    private static async Task AssertBothServersUpAsync(HttpClient client)
    {
        using var response = await client.GetAsync("/health");
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("up", body.GetProperty("servers").GetProperty("server1").GetProperty("state").GetString());
        Assert.Equal("up", body.GetProperty("servers").GetProperty("server2").GetProperty("state").GetString());
    }

    /// <summary>Opens the flood, each connect bounded: one the proxy no longer takes ends it.</summary>
    private static async Task FloodAsync(IPEndPoint endpoint, List<Socket> flood, CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        while (flood.Count < FloodConnections && started.Elapsed < TimeSpan.FromSeconds(60))
        {
            using var connect = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            connect.CancelAfter(TimeSpan.FromSeconds(5));
            try
            {
                flood.Add(await ConnectionLimitTests.ConnectAsync(endpoint, connect.Token));
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                return;
            }
        }
    }

    /// <summary>Waits until the flood connections the proxy closed stop changing, then returns how many it kept.</summary>
    private static async Task<int> WaitForKeptAsync(List<Socket> flood, int expected, CancellationToken cancellationToken)
    {
        var started = Stopwatch.StartNew();
        var kept = flood.Count;
        while (started.Elapsed < TimeSpan.FromSeconds(30))
        {
            // Readable with nothing to read: the proxy closed it.
            kept = flood.Count(s => !(s.Poll(0, SelectMode.SelectRead) && s.Available == 0));
            if (kept <= expected)
            {
                return kept;
            }

            await Task.Delay(100, cancellationToken);
        }

        return kept;
    }

    private static async Task RetryUntilServedAsync(HttpClient client, CancellationToken cancellationToken)
    {
        // The proxy sees each flood connection close when its receive loop does; until then the front may be full.
        var started = Stopwatch.StartNew();
        while (true)
        {
            try
            {
                await AssertForwardsAsync(client);
                return;
            }
            catch (HttpRequestException) when (started.Elapsed < TimeSpan.FromSeconds(20))
            {
                await Task.Delay(100, cancellationToken);
            }
        }
    }

    private static double Metric(string exposition, string name)
    {
        var line = exposition.Split('\n').FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal) && (l.Length == name.Length || l[name.Length] is ' ' or '{'))
            ?? throw new Xunit.Sdk.XunitException($"No {name} in:\n{exposition}");
        return double.Parse(line.Split(' ')[^1], System.Globalization.CultureInfo.InvariantCulture);
    }
}
