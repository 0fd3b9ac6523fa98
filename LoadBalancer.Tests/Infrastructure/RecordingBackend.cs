using System.Net.Sockets;
using System.Text;
using System.Threading.Channels;

namespace LoadBalancer.Tests.Infrastructure;

/// <summary>
/// A raw TCP backend on 127.0.0.1 that records the exact bytes of each request it receives (head and body) and answers
/// each with a fixed <c>HTTP/1.1 200 OK</c> and Content-Length, keeping the connection open until the peer closes it
/// (or the request said <c>Connection: close</c>). A Kestrel backend would show the request as Kestrel parsed it;
/// this one shows what the proxy wrote.
/// </summary>
public sealed class RecordingBackend : IAsyncDisposable
{
    /// <summary>The body of every answer.</summary>
    public const string ResponseBody = "recorded";

    private readonly TcpListener _listener;
    private readonly byte[] _response;
    private readonly Channel<RawHttpMessage> _requests = Channel.CreateUnbounded<RawHttpMessage>();
    private readonly CancellationTokenSource _stop = new();
    private readonly List<Task> _connections = [];
    private readonly Task _accepting;

    private RecordingBackend(string extraResponseHeaders)
    {
        _listener = new TcpListener(IPAddress.Loopback, 0);
        _listener.Start();
        Address = new Uri($"http://127.0.0.1:{((IPEndPoint)_listener.LocalEndpoint).Port}/");
        _response = Encoding.Latin1.GetBytes(
            $"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: {ResponseBody.Length}\r\n{extraResponseHeaders}\r\n{ResponseBody}");
        _accepting = AcceptAsync();
    }

    /// <summary>Where it listens.</summary>
    public Uri Address { get; }

    /// <summary>The backend as the proxy's only server, named <c>recorder</c>.</summary>
    public Dictionary<string, Uri> Servers => new() { ["recorder"] = Address };

    /// <summary>Whether a request arrived that no <see cref="NextRequestAsync"/> has taken yet.</summary>
    public bool HasUnreadRequest => _requests.Reader.TryPeek(out _);

    /// <summary>
    /// Starts a backend; <paramref name="extraResponseHeaders"/> (each line ending in CRLF) go into every answer.
    /// </summary>
    public static RecordingBackend Start(string extraResponseHeaders = "") => new(extraResponseHeaders);

    /// <summary>The next request received, waiting up to 10 s for it.</summary>
    public async Task<RawHttpMessage> NextRequestAsync()
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return await _requests.Reader.ReadAsync(timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        _listener.Stop();
        Task[] connections;
        lock (_connections)
        {
            connections = [.. _connections, _accepting];
        }

        await Task.WhenAll(connections.Select(task => task.ContinueWith(_ => { }, TaskScheduler.Default)));
        _stop.Dispose();
    }

    private async Task AcceptAsync()
    {
        while (!_stop.IsCancellationRequested)
        {
            TcpClient client;
            try
            {
                client = await _listener.AcceptTcpClientAsync(_stop.Token);
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                return;
            }

            lock (_connections)
            {
                _connections.Add(ServeAsync(client));
            }
        }
    }

    private async Task ServeAsync(TcpClient client)
    {
        using (client)
        {
            var stream = client.GetStream();
            var reader = new RawHttpReader(stream);
            try
            {
                while (await reader.ReadAsync(isResponse: false, _stop.Token) is { } request)
                {
                    _requests.Writer.TryWrite(request);
                    await stream.WriteAsync(_response, _stop.Token);
                    if (request.Values("Connection").Any(v => v.Contains("close", StringComparison.OrdinalIgnoreCase)))
                    {
                        return;
                    }
                }
            }
            catch (Exception) when (_stop.IsCancellationRequested)
            {
                // Stopped by the test.
            }
            catch (IOException)
            {
                // The proxy dropped the connection.
            }
        }
    }
}
