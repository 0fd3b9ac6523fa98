using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net;
using System.Text;

namespace LoadBalancer.LoadGen;

/// <summary>
/// Sends request i at start + i / rate whatever happened to the ones before (open loop: a slow answer never delays the
/// next send, as it would with a fixed set of connections taking turns), and times each from that scheduled instant,
/// so the time a request would have waited to be sent counts too (no coordinated omission).
/// </summary>
internal sealed class OpenLoopRun
{
    /// <summary>The proxy's header naming the server that answered.</summary>
    public const string UpstreamHeader = "X-Upstream-Server";

    /// <summary>LoadBalancer.Server's own header (capacity model on): the server id whoever proxied the answer.</summary>
    public const string ServerIdHeader = "X-Server-Id";

    private static readonly byte[] BodyMarker = Encoding.UTF8.GetBytes("Hello from Server: ");

    private readonly LoadSettings _settings;
    private readonly HttpClient _client;
    private readonly string[] _paths;
    private readonly RequestRecord[] _records;
    private readonly ConcurrentDictionary<string, int> _serverIndex = new(StringComparer.Ordinal);
    private readonly List<string> _serverNames = [];
    private readonly Lock _namesLock = new();
    private readonly double _ticksPerSecond = Stopwatch.Frequency;
    private readonly TaskCompletionSource _started = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _start;
    private long _startedUnixMs;
    private int _outstanding;
    private int _peakOutstanding;

    public OpenLoopRun(LoadSettings settings, ZipfKeys keys)
    {
        _settings = settings;
        var total = (int)Math.Ceiling((settings.Warmup + settings.Duration) * settings.Rate);
        _paths = new string[total];
        var baseUri = settings.Url.ToString().TrimEnd('/');
        for (var i = 0; i < total; i++)
        {
            _paths[i] = $"{baseUri}/home?id={keys.IdOf(keys.NextRank())}";
        }

        _records = new RequestRecord[total];
        _client = new HttpClient(new SocketsHttpHandler
        {
            UseProxy = false,
            UseCookies = false,
            AllowAutoRedirect = false,
            MaxConnectionsPerServer = int.MaxValue,
            PooledConnectionIdleTimeout = TimeSpan.FromMinutes(5),
            ConnectTimeout = TimeSpan.FromSeconds(settings.Timeout),
        })
        {
            Timeout = TimeSpan.FromSeconds(settings.Timeout),
            DefaultRequestVersion = HttpVersion.Version11,
        };
    }

    /// <summary>Every request's record, in schedule order.</summary>
    public IReadOnlyList<RequestRecord> Records => _records;

    /// <summary>Names of the servers that answered, indexed by <see cref="RequestRecord.Server"/>.</summary>
    public IReadOnlyList<string> ServerNames => _serverNames;

    /// <summary>The first request of the measured window.</summary>
    public int FirstMeasured => (int)Math.Ceiling(_settings.Warmup * _settings.Rate);

    /// <summary>When the clock started (request 0 was due), in Unix milliseconds.</summary>
    public long StartedUnixMs => _startedUnixMs;

    /// <summary>Most requests outstanding at once.</summary>
    public int PeakOutstanding => _peakOutstanding;

    /// <summary>Runs the schedule on a thread of its own and waits for every request to end (each within the timeout).</summary>
    public async Task RunAsync()
    {
        await PrewarmAsync().ConfigureAwait(false);
        var pending = new List<Task>(_records.Length);
        var scheduler = new Thread(() => Schedule(pending)) { IsBackground = true, Name = "open-loop scheduler", Priority = ThreadPriority.AboveNormal };
        scheduler.Start();
        var reset = ResetAtMeasureStartAsync();
        var announce = AnnounceStartAsync();
        await Task.Run(scheduler.Join).ConfigureAwait(false);
        await reset.ConfigureAwait(false);
        await announce.ConfigureAwait(false);
        await Task.WhenAll(pending).ConfigureAwait(false);
    }

    /// <summary>
    /// Before the clock starts: a few rounds of <see cref="LoadSettings.Prewarm"/> requests at once, so the connections
    /// are open and the client's code compiled. Without it the first scheduled requests wait for both and then leave
    /// together, a burst the schedule never asked for.
    /// </summary>
    private async Task PrewarmAsync()
    {
        for (var round = 0; round < 3 && _settings.Prewarm > 0; round++)
        {
            await Task.WhenAll(Enumerable.Range(0, Math.Min(_settings.Prewarm, _paths.Length)).Select(async i =>
            {
                try
                {
                    using var response = await _client.GetAsync(_paths[i]).ConfigureAwait(false);
                }
                catch (Exception ex) when (ex is HttpRequestException or TaskCanceledException)
                {
                    // Only the connection and the code matter here; the answer does not.
                }
            })).ConfigureAwait(false);
        }
    }

    /// <summary>Writes <see cref="LoadSettings.StartedFile"/> once the clock runs, off the scheduler's thread.</summary>
    private async Task AnnounceStartAsync()
    {
        if (_settings.StartedFile is null)
        {
            return;
        }

        await _started.Task.ConfigureAwait(false);
        // Written under another name and moved, so a reader never sees a half-written file.
        var temporary = _settings.StartedFile + ".tmp";
        await File.WriteAllTextAsync(temporary, Volatile.Read(ref _startedUnixMs).ToString(System.Globalization.CultureInfo.InvariantCulture)).ConfigureAwait(false);
        File.Move(temporary, _settings.StartedFile, overwrite: true);
    }

    private async Task ResetAtMeasureStartAsync()
    {
        if (_settings.ResetUrls.Count == 0)
        {
            return;
        }

        await _started.Task.ConfigureAwait(false);
        var wait = TimeSpan.FromSeconds(_settings.Warmup) - Stopwatch.GetElapsedTime(_start);
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait).ConfigureAwait(false);
        }

        foreach (var url in _settings.ResetUrls)
        {
            try
            {
                using var response = await _client.PostAsync(url, content: null).ConfigureAwait(false);
            }
            catch (HttpRequestException ex)
            {
                Console.Error.WriteLine($"--reset {url}: {ex.Message}");
            }
        }
    }

    private void Schedule(List<Task> pending)
    {
        _start = Stopwatch.GetTimestamp();
        Volatile.Write(ref _startedUnixMs, DateTimeOffset.UtcNow.ToUnixTimeMilliseconds());
        _started.TrySetResult();
        for (var i = 0; i < _records.Length; i++)
        {
            var due = (long)(i / _settings.Rate * _ticksPerSecond);
            // Sleep in steps of a millisecond (what the OS timer gives) until it is due: the requests that fell due
            // meanwhile go out together, each timed from its own due time. Spinning instead would take a whole core
            // from the machine the targets share.
            while (Stopwatch.GetTimestamp() - _start < due)
            {
                Thread.Sleep(1);
            }

            var sent = Stopwatch.GetTimestamp() - _start;
            if (Interlocked.Increment(ref _outstanding) > _settings.MaxInFlight)
            {
                Interlocked.Decrement(ref _outstanding);
                _records[i] = new RequestRecord(due, sent, sent, RequestRecord.NoServer, RequestRecord.GeneratorLimit);
                continue;
            }

            RaisePeak();
            pending.Add(SendAsync(i, due, sent));
        }
    }

    private async Task SendAsync(int index, long due, long sent)
    {
        // Off the scheduler thread at once, so a slow synchronous part of a send cannot hold back the next one.
        await Task.Yield();
        short status;
        var server = RequestRecord.NoServer;
        try
        {
            using var response = await _client.GetAsync(_paths[index], HttpCompletionOption.ResponseContentRead).ConfigureAwait(false);
            status = (short)response.StatusCode;
            var body = await response.Content.ReadAsByteArrayAsync().ConfigureAwait(false);
            server = IndexOf(ServerOf(response, body));
        }
        catch (TaskCanceledException)
        {
            status = RequestRecord.Timeout;
        }
        catch (HttpRequestException)
        {
            status = RequestRecord.TransportError;
        }
        finally
        {
            Interlocked.Decrement(ref _outstanding);
        }

        _records[index] = new RequestRecord(due, sent, Stopwatch.GetTimestamp() - _start, server, status);
    }

    /// <summary>
    /// Every request as CSV, in schedule order, times in milliseconds from the clock's start: what a diagnosis needs
    /// to tell which requests a fault delayed, by how much, and who answered them in the end.
    /// </summary>
    public void WriteRecords(TextWriter writer)
    {
        var tick = TicksPerSecond / 1000.0;
        var culture = System.Globalization.CultureInfo.InvariantCulture;
        writer.WriteLine("index,measured,path,due_ms,sent_ms,done_ms,latency_ms,server,status");
        for (var i = 0; i < _records.Length; i++)
        {
            var r = _records[i];
            var server = r.Server >= 0 ? _serverNames[r.Server] : "";
            writer.WriteLine(string.Create(culture,
                $"{i},{(i >= FirstMeasured ? 1 : 0)},{_paths[i]},{r.Due / tick:F3},{r.Sent / tick:F3},{r.Done / tick:F3},{(r.Done - r.Due) / tick:F3},{server},{r.Status}"));
        }
    }

    /// <summary>The server that answered: the proxy's header, else the server's own, else <c>/home</c>'s message.</summary>
    internal static string? ServerOf(HttpResponseMessage response, byte[] body)
    {
        foreach (var header in (string[])[UpstreamHeader, ServerIdHeader])
        {
            if (response.Headers.TryGetValues(header, out var values) && values.FirstOrDefault() is { Length: > 0 } name)
            {
                return name;
            }
        }

        var at = body.AsSpan().IndexOf(BodyMarker);
        if (at < 0)
        {
            return null;
        }

        var rest = body.AsSpan(at + BodyMarker.Length);
        var end = rest.IndexOf((byte)'"');
        return Encoding.UTF8.GetString(end < 0 ? rest : rest[..end]);
    }

    private short IndexOf(string? name)
    {
        if (name is null)
        {
            return RequestRecord.NoServer;
        }

        if (_serverIndex.TryGetValue(name, out var index))
        {
            return (short)index;
        }

        lock (_namesLock)
        {
            if (!_serverIndex.TryGetValue(name, out index))
            {
                index = _serverNames.Count;
                _serverNames.Add(name);
                _serverIndex[name] = index;
            }
        }

        return (short)index;
    }

    private void RaisePeak()
    {
        var now = Volatile.Read(ref _outstanding);
        var peak = Volatile.Read(ref _peakOutstanding);
        while (now > peak)
        {
            var seen = Interlocked.CompareExchange(ref _peakOutstanding, now, peak);
            if (seen == peak)
            {
                return;
            }

            peak = seen;
        }
    }

    /// <summary>Stopwatch ticks per second, for turning records into times.</summary>
    public static double TicksPerSecond => Stopwatch.Frequency;
}

/// <summary>One request: when it was due, sent and done (Stopwatch ticks from the start), who answered, how.</summary>
/// <param name="Due">The scheduled send time: latency counts from here.</param>
/// <param name="Sent">When the scheduler actually let it go (its lateness is in the latency).</param>
/// <param name="Done">When the whole answer had arrived, or the request failed.</param>
/// <param name="Server">Index into the run's server names, or <see cref="NoServer"/>.</param>
/// <param name="Status">The HTTP status, or one of the negative codes.</param>
internal readonly record struct RequestRecord(long Due, long Sent, long Done, short Server, short Status)
{
    public const short NoServer = -1;
    public const short Timeout = -1;
    public const short TransportError = -2;
    public const short GeneratorLimit = -3;
}
