using System.Net.Sockets;
using System.Text;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Tests.Connections;

/// <summary>
/// The connection limit at a proxy's listener, in process: set low through Kestrel's own setting, so a handful of
/// connections reach it (the descriptor-derived default is tested in <see cref="ConnectionFloodTests"/>).
/// </summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class ConnectionLimitTests
{
    private const int Limit = 5;

    [Fact]
    public async Task A_connection_over_the_limit_is_closed_at_once_and_one_that_closes_makes_room()
    {
        var logs = new LogCollector();
        await using var backend = await TestHost.StartBackendAsync(context => context.Response.WriteAsync("ok"));
        await using var proxy = await TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["b"] = backend.Address },
            ProxySettings.WithoutProbes(("Kestrel:Limits:MaxConcurrentConnections", Limit.ToString(System.Globalization.CultureInfo.InvariantCulture))),
            services => services.AddSingleton<ILoggerProvider>(logs));
        var endpoint = new IPEndPoint(IPAddress.Loopback, proxy.Address.Port);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var held = new List<Socket>();
        try
        {
            for (var i = 0; i < Limit; i++)
            {
                held.Add(await ConnectAsync(endpoint, timeout.Token));
            }

            // Each held connection is served: the limit counts connections, it does not refuse these.
            Assert.Equal("HTTP/1.1 200 OK", await RequestAsync(held[0], "/a?id=1", timeout.Token));

            using (var over = await ConnectAsync(endpoint, timeout.Token))
            {
                Assert.Null(await RequestAsync(over, "/a?id=2", timeout.Token));
            }

            // Refused by the proxy's own gate, which reports it once, not by Kestrel's, which warns per connection.
            Assert.Single(logs.Messages, m => m.StartsWith($"Refused 1 client connection(s) since the last report: the proxy holds its limit of {Limit} connections", StringComparison.Ordinal));
            Assert.DoesNotContain(logs.Messages, m => m.Contains("maximum number of concurrent connections", StringComparison.Ordinal));

            held[0].Dispose();
            held.RemoveAt(0);
            await WaitUntilServedAsync(endpoint, timeout.Token);
        }
        finally
        {
            held.ForEach(s => s.Dispose());
        }
    }

    [Theory]
    [InlineData("Connections:ClientShare", "0", "ClientShare")]
    [InlineData("Connections:ClientShare", "1.5", "ClientShare")]
    [InlineData("Connections:ReservedDescriptors", "-1", "ReservedDescriptors")]
    [InlineData("Connections:RejectionLogInterval", "00:00:00", "RejectionLogInterval")]
    public async Task A_bad_setting_stops_the_proxy_at_start(string key, string value, string named)
    {
        var error = await Record.ExceptionAsync(() => TestHost.StartProxyAsync(
            [KeyValuePair.Create("b", ProxyProbe.RefusedAddress())],
            ProxySettings.WithoutProbes((key, value))));

        var validation = Assert.IsType<OptionsValidationException>(error);
        Assert.Contains(named, validation.Message, StringComparison.Ordinal);
    }

    /// <summary>Connects a raw socket; the kernel completes the handshake whether or not the proxy keeps it.</summary>
    internal static async Task<Socket> ConnectAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            await socket.ConnectAsync(endpoint, cancellationToken);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>
    /// Sends a GET and returns the response's status line, or null when the proxy closed the connection instead
    /// (end of stream or reset): a refused connection. Bounded by <paramref name="cancellationToken"/>, so a hung one fails.
    /// </summary>
    internal static async Task<string?> RequestAsync(Socket socket, string target, CancellationToken cancellationToken)
    {
        try
        {
            await socket.SendAsync(Encoding.ASCII.GetBytes($"GET {target} HTTP/1.1\r\nHost: proxy\r\n\r\n"), cancellationToken);
            var buffer = new byte[4096];
            var received = 0;
            while (true)
            {
                var read = await socket.ReceiveAsync(buffer.AsMemory(received), cancellationToken);
                if (read == 0)
                {
                    return null;
                }

                received += read;
                var text = Encoding.ASCII.GetString(buffer, 0, received);
                if (text.Contains("\r\n", StringComparison.Ordinal))
                {
                    return text[..text.IndexOf("\r\n", StringComparison.Ordinal)];
                }
            }
        }
        catch (SocketException e) when (e.SocketErrorCode is SocketError.ConnectionReset or SocketError.Shutdown or SocketError.ConnectionAborted)
        {
            return null;
        }
    }

    private static async Task WaitUntilServedAsync(IPEndPoint endpoint, CancellationToken cancellationToken)
    {
        // The proxy sees the close when its receive loop does: a new connection may be refused until then.
        while (true)
        {
            using var socket = await ConnectAsync(endpoint, cancellationToken);
            if (await RequestAsync(socket, "/a?id=3", cancellationToken) is { } status)
            {
                Assert.Equal("HTTP/1.1 200 OK", status);
                return;
            }

            await Task.Delay(50, cancellationToken);
        }
    }
}
