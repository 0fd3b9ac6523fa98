using System.Text.Json.Serialization;
using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Server.Capacity;

/// <summary>
/// Holds each <c>/home</c> request for the service time under a <see cref="ConcurrencyLimiter"/> with a bounded queue
/// (<see cref="CapacityOptions"/>), and counts what a bench wants to see: requests in flight (queued or served), the
/// peak since the last reset, and how many were served or refused.
/// </summary>
internal sealed class CapacityGate : IDisposable
{
    private readonly ConcurrencyLimiter? _limiter;
    private readonly TimeSpan _serviceTime;
    private readonly TimeProvider _time;
    private int _inFlight;
    private int _peakInFlight;
    private long _served;
    private long _refused;

    public CapacityGate(IOptions<CapacityOptions> options, TimeProvider time)
    {
        var capacity = options.Value;
        Options = capacity;
        _serviceTime = capacity.ServiceTime;
        _time = time;
        if (capacity.ConcurrencyLimit > 0)
        {
            _limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
            {
                PermitLimit = capacity.ConcurrencyLimit,
                QueueLimit = capacity.QueueLimit,
                QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
            });
        }
    }

    /// <summary>The settings the gate was built with.</summary>
    public CapacityOptions Options { get; }

    /// <summary>
    /// Waits for a place (queued if the limit is reached and the queue has room) and then for the service time; not
    /// admitted when the queue is full too, so the caller refuses the request. The place is held until it is disposed.
    /// </summary>
    public async ValueTask<Admission> EnterAsync(CancellationToken cancellationToken)
    {
        RateLimitLease? lease = null;
        var counted = false;
        try
        {
            if (_limiter is not null)
            {
                // The limiter decides at once whether a request is served, queued or refused; only the first two count
                // as in flight, so the peak never exceeds the limit plus the queue.
                var acquiring = _limiter.AcquireAsync(1, cancellationToken);
                if (acquiring.IsCompleted)
                {
                    lease = acquiring.Result;
                }
                else
                {
                    counted = Count();
                    lease = await acquiring.ConfigureAwait(false);
                }

                if (!lease.IsAcquired)
                {
                    // Refused at once (queue full), or queued and then pushed out (the limiter's contract allows it).
                    lease.Dispose();
                    lease = null;
                    Interlocked.Increment(ref _refused);
                    if (counted)
                    {
                        Interlocked.Decrement(ref _inFlight);
                    }

                    return default;
                }

                counted = counted || Count();
            }
            else
            {
                counted = Count();
            }

            if (_serviceTime > TimeSpan.Zero)
            {
                await Task.Delay(_serviceTime, _time, cancellationToken).ConfigureAwait(false);
            }

            Interlocked.Increment(ref _served);
            return new Admission(this, lease);
        }
        catch
        {
            lease?.Dispose();
            if (counted)
            {
                Interlocked.Decrement(ref _inFlight);
            }

            throw;
        }
    }

    private bool Count()
    {
        RaisePeak(Interlocked.Increment(ref _inFlight));
        return true;
    }

    /// <summary>The counters now.</summary>
    public CapacityStats Read() => new(Volatile.Read(ref _inFlight), Volatile.Read(ref _peakInFlight), Interlocked.Read(ref _served), Interlocked.Read(ref _refused));

    /// <summary>The counters now, then starts them again (the peak from the requests in flight now), for the next round.</summary>
    public CapacityStats ReadAndReset()
    {
        var inFlight = Volatile.Read(ref _inFlight);
        return new(inFlight, Interlocked.Exchange(ref _peakInFlight, inFlight), Interlocked.Exchange(ref _served, 0), Interlocked.Exchange(ref _refused, 0));
    }

    public void Dispose() => _limiter?.Dispose();

    private void Leave(RateLimitLease? lease)
    {
        // The answer is written before the place is given up, so "in flight" covers the whole request at the server.
        lease?.Dispose();
        Interlocked.Decrement(ref _inFlight);
    }

    private void RaisePeak(int inFlight)
    {
        var peak = Volatile.Read(ref _peakInFlight);
        while (inFlight > peak)
        {
            var seen = Interlocked.CompareExchange(ref _peakInFlight, inFlight, peak);
            if (seen == peak)
            {
                return;
            }

            peak = seen;
        }
    }

    /// <summary>A place at the server; <see cref="Admitted"/> false when the request was refused. Dispose gives it up.</summary>
    public readonly struct Admission(CapacityGate? gate, RateLimitLease? lease) : IDisposable
    {
        public bool Admitted => gate is not null;

        public void Dispose() => gate?.Leave(lease);
    }
}

/// <summary>What <c>/capacity</c> reports.</summary>
/// <param name="InFlight">Requests at the server now, queued or being served.</param>
/// <param name="PeakInFlight">The most that were at the server at once since the last reset.</param>
/// <param name="Served">Requests served since the last reset.</param>
/// <param name="Refused">Requests refused with 503 since the last reset (queue full).</param>
internal sealed record CapacityStats(
    [property: JsonPropertyName("inFlight")] int InFlight,
    [property: JsonPropertyName("peakInFlight")] int PeakInFlight,
    [property: JsonPropertyName("served")] long Served,
    [property: JsonPropertyName("refused")] long Refused);
