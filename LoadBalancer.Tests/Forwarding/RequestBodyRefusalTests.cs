using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using LoadBalancer.Proxy;
using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static LoadBalancer.Tests.Infrastructure.ProxySettings;

namespace LoadBalancer.Tests.Forwarding;

/// <summary>
/// A body the proxy cannot forward: a declared length over the limit never reaches a server; a body that fails while
/// it is read gets a fixed, documented message (never .NET's exception text); a client that gives up on an upload is
/// one log line without a stack trace.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class RequestBodyRefusalTests
{
    [Theory]
    [InlineData(null, 40_000_000L, 30_000_000L)]
    [InlineData("1000", 5000L, 1000L)]
    public async Task A_declared_body_over_the_limit_gets_413_and_no_server_sees_anything(string? configuredLimit, long declared, long limit)
    {
        await using var backend = await ConnectionCountingBackend.StartAsync();
        var settings = WithoutProbes();
        if (configuredLimit is not null)
        {
            settings["Kestrel:Limits:MaxRequestBodySize"] = configuredLimit;
        }

        await using var proxy = await TestHost.StartProxyAsync(new Dictionary<string, Uri> { ["backend"] = backend.Address }, settings);

        // Only the headers: the proxy must answer without waiting for (or reading) the body.
        var response = await RawHttpClient.SendAsync(proxy.Address, $"POST /upload?id=1 HTTP/1.1\r\nHost: proxy\r\nContent-Length: {declared}\r\n\r\n");

        Assert.Equal(StatusCodes.Status413PayloadTooLarge, response.StatusCode);
        Assert.Equal(["close"], response.Values("Connection"));
        var body = JsonDocument.Parse(response.BodyText).RootElement;
        Assert.Equal("failure", body.GetProperty("status").GetString());
        Assert.Equal($"<Error> The request body is larger than the limit of {limit} bytes", body.GetProperty("message").GetString());
        // A forward would have connected before the proxy could answer; the grace covers a slow accept.
        await Task.Delay(300);
        Assert.Equal(0, backend.Connections);

        // A body within the limit is still forwarded, whole.
        using var client = proxy.CreateClient();
        using var small = await client.PostAsync("/upload?id=1", new StringContent(new string('x', 900)));
        Assert.Equal(HttpStatusCode.OK, small.StatusCode);
        Assert.Equal("got 900", await small.Content.ReadAsStringAsync());
        Assert.Equal(1, backend.Connections);
    }

    [Theory]
    // A chunk size that does not fit in 31 bits: Kestrel's parser overflows ("Arithmetic operation resulted in an overflow.").
    [InlineData("ffffffffffffffffff\r\n", RequestBodyErrors.MalformedMessage)]
    [InlineData("zz\r\nabc\r\n", RequestBodyErrors.MalformedMessage)]
    [InlineData("3\r\nabcX\r\n", RequestBodyErrors.MalformedMessage)]
    public async Task A_malformed_chunked_body_gets_400_with_a_fixed_message(string chunks, string message)
    {
        await using var backend = await TestHost.StartBackendAsync(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            await context.Response.WriteAsync($"got {(await reader.ReadToEndAsync()).Length}");
        });
        await using var proxy = await TestHost.StartProxyAsync(new Dictionary<string, Uri> { ["backend"] = backend.Address }, WithoutProbes());

        var response = await RawHttpClient.SendAsync(proxy.Address, $"POST /upload?id=1 HTTP/1.1\r\nHost: proxy\r\nTransfer-Encoding: chunked\r\n\r\n{chunks}");

        Assert.Equal(StatusCodes.Status400BadRequest, response.StatusCode);
        var body = JsonDocument.Parse(response.BodyText).RootElement;
        Assert.Equal(message, body.GetProperty("message").GetString());
        Assert.Equal("failure", body.GetProperty("status").GetString());
    }

    [Theory]
    // Kestrel's texts, as its BadHttpRequestException carries them (its reason code is internal).
    [InlineData(400, "Unexpected end of request content.", 400, RequestBodyErrors.EndedEarlyMessage)]
    [InlineData(400, "Chunked request incomplete.", 400, RequestBodyErrors.EndedEarlyMessage)]
    [InlineData(400, "Bad chunk suffix.", 400, RequestBodyErrors.MalformedMessage)]
    [InlineData(400, "Bad chunk extension.", 400, RequestBodyErrors.MalformedMessage)]
    [InlineData(408, "Reading the request body timed out due to data arriving too slowly. See MinRequestBodyDataRate.", 408, RequestBodyErrors.TooSlowMessage)]
    [InlineData(413, "Request body too large. The max request body size is 1000 bytes.", 413, "<Error> The request body is larger than the limit of 1000 bytes")]
    [InlineData(0, "Something else entirely.", 400, RequestBodyErrors.UnreadableMessage)]
    public void Each_body_failure_maps_to_its_fixed_status_and_message(int kestrelStatus, string kestrelMessage, int status, string message)
    {
        // Observable through a socket only for some of them: a client that half-closes is taken for gone by Kestrel.
        var context = new DefaultHttpContext();
        context.Features.Set<IHttpMaxRequestBodySizeFeature>(new BodySizeFeature { MaxRequestBodySize = 1000 });
        Exception failure = kestrelStatus == 0 ? new IOException(kestrelMessage) : new BadHttpRequestException(kestrelMessage, kestrelStatus);
        // As YARP reports it: the body's failure beside the HttpClient's, in an aggregate.
        var reported = new AggregateException(new IOException("wrapped", failure), new HttpRequestException("Error while copying content to a stream."));

        var (actualStatus, body) = RequestBodyErrors.Describe(context, reported);

        Assert.Equal(status, actualStatus);
        var json = JsonDocument.Parse(body).RootElement;
        Assert.Equal(message, json.GetProperty("message").GetString());
        Assert.Equal("failure", json.GetProperty("status").GetString());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_client_that_aborts_a_slow_upload_is_one_log_line_without_a_stack_trace(bool reset)
    {
        var logs = new LogCollector();
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var backend = await TestHost.StartBackendAsync(async context =>
        {
            arrived.TrySetResult();
            using var reader = new StreamReader(context.Request.Body);
            await context.Response.WriteAsync($"got {(await reader.ReadToEndAsync()).Length}");
        });
        await using var proxy = await TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["backend"] = backend.Address },
            WithoutProbes(),
            services => services.AddSingleton<ILoggerProvider>(logs));
        var before = logs.Entries.Count;

        using (var tcp = new TcpClient())
        {
            await tcp.ConnectAsync(proxy.Address.Host, proxy.Address.Port);
            await tcp.GetStream().WriteAsync(Encoding.ASCII.GetBytes("POST /upload?id=1 HTTP/1.1\r\nHost: proxy\r\nContent-Length: 100000\r\n\r\nfirst bytes"));
            await arrived.Task.WaitAsync(TimeSpan.FromSeconds(10));
            // The client gives up: its socket is closed (a FIN), or reset when it is killed with data unread.
            if (reset)
            {
                tcp.Client.LingerState = new LingerOption(true, 0);
            }
        }

        using (var waiting = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            while (!logs.Entries.Skip(before).Any(e => e.EventId == 201) && !waiting.IsCancellationRequested)
            {
                await Task.Delay(20);
            }
        }

        // Anything else the abort causes would be logged by now (the attempt's line is the last step of the forward).
        await Task.Delay(200);
        var entries = logs.Entries.Skip(before).ToList();
        var line = Assert.Single(entries);
        Assert.Equal(201, line.EventId);
        Assert.Equal(typeof(ProxyRequestHandler).FullName, line.Category);
        Assert.Equal(LogLevel.Information, line.Level);
        Assert.Null(line.Exception);
        Assert.StartsWith("Attempt 1 to backend failed: client_failed", line.Message, StringComparison.Ordinal);
        Assert.DoesNotContain('\n', line.Message);
        Assert.DoesNotContain(entries, e => e.Category == ProxyApplication.ForwarderLogCategory);
    }

    private sealed class BodySizeFeature : IHttpMaxRequestBodySizeFeature
    {
        public bool IsReadOnly => false;

        public long? MaxRequestBodySize { get; set; }
    }

    /// <summary>
    /// A raw TCP backend that counts the connections made to it and answers each HTTP/1.1 request with
    /// <c>got &lt;body length&gt;</c>: a request that must reach no server is one that never connected.
    /// </summary>
    private sealed class ConnectionCountingBackend : IAsyncDisposable
    {
        private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
        private readonly CancellationTokenSource _stop = new();
        private Task _accepting = Task.CompletedTask;
        private int _connections;

        public Uri Address => new($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}");

        public int Connections => Volatile.Read(ref _connections);

        public static Task<ConnectionCountingBackend> StartAsync()
        {
            var backend = new ConnectionCountingBackend();
            backend._listener.Start();
            backend._accepting = backend.AcceptAsync();
            return Task.FromResult(backend);
        }

        public async ValueTask DisposeAsync()
        {
            _stop.Cancel();
            _listener.Stop();
            await _accepting.ContinueWith(_ => { }, TaskScheduler.Default);
            _stop.Dispose();
        }

        private async Task AcceptAsync()
        {
            while (!_stop.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(_stop.Token);
                Interlocked.Increment(ref _connections);
                _ = ServeAsync(client);
            }
        }

        private async Task ServeAsync(TcpClient client)
        {
            using (client)
            {
                try
                {
                    var stream = client.GetStream();
                    var received = new List<byte>();
                    var buffer = new byte[8192];
                    int headEnd;
                    while ((headEnd = IndexOfHeadEnd(received)) < 0)
                    {
                        var read = await stream.ReadAsync(buffer, _stop.Token);
                        if (read == 0)
                        {
                            return;
                        }

                        received.AddRange(buffer.AsSpan(0, read));
                    }

                    var head = Encoding.ASCII.GetString(received.ToArray(), 0, headEnd);
                    var length = head.Split("\r\n")
                        .Select(line => line.Split(':', 2))
                        .Where(parts => parts.Length == 2 && parts[0].Trim().Equals("Content-Length", StringComparison.OrdinalIgnoreCase))
                        .Select(parts => int.Parse(parts[1].Trim()))
                        .FirstOrDefault();
                    while (received.Count - headEnd - 4 < length)
                    {
                        var read = await stream.ReadAsync(buffer, _stop.Token);
                        if (read == 0)
                        {
                            return;
                        }

                        received.AddRange(buffer.AsSpan(0, read));
                    }

                    var answer = $"got {length}";
                    await stream.WriteAsync(Encoding.ASCII.GetBytes($"HTTP/1.1 200 OK\r\nContent-Length: {answer.Length}\r\nConnection: close\r\n\r\n{answer}"), _stop.Token);
                }
                catch (Exception ex) when (ex is IOException or OperationCanceledException or SocketException)
                {
                }
            }
        }

        private static int IndexOfHeadEnd(List<byte> received)
        {
            for (var i = 0; i + 3 < received.Count; i++)
            {
                if (received[i] == '\r' && received[i + 1] == '\n' && received[i + 2] == '\r' && received[i + 3] == '\n')
                {
                    return i;
                }
            }

            return -1;
        }
    }
}
