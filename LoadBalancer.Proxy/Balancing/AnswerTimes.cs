using System.Numerics;

namespace LoadBalancer.Proxy.Balancing;

/// <summary>
/// How fast one server has been sending response headers lately, as a decaying histogram, and the hedging delay
/// taken from it: the time by which the configured share of its answers have come (<c>Hedging:DelayPercentile</c>).
/// A request still waiting then is in the server's slow tail, so a hedge is worth its extra load; as Finagle's backup
/// requests are timed from the service's own latency percentile.
/// </summary>
/// <remarks>
/// Buckets of a quarter octave (each about 19 % wider than the last) from 1 µs to about half a minute; one interlocked
/// increment per answer. <see cref="Update"/> (once a second) reads the percentile and halves every bucket, so the
/// histogram weighs the last few seconds most.
/// </remarks>
public sealed class AnswerTimes
{
    private const int SubBuckets = 4;
    private const int Buckets = 25 * SubBuckets;

    /// <summary>Fewer answers than this (after decay) say too little: the configured delay holds.</summary>
    public const int MinimumAnswers = 32;

    private readonly int[] _counts = new int[Buckets];
    private long _delayTicks;

    /// <summary>The hedging delay for this server now, or <see cref="TimeSpan.Zero"/> while it has too few answers.</summary>
    public TimeSpan HedgeDelay => new(Volatile.Read(ref _delayTicks));

    /// <summary>Counts one answer that took <paramref name="elapsed"/> from the send to the response headers.</summary>
    public void Record(TimeSpan elapsed) => Interlocked.Increment(ref _counts[BucketOf(elapsed)]);

    /// <summary>
    /// Sets <see cref="HedgeDelay"/> to the <paramref name="percentile"/> of the answers counted, within
    /// [<paramref name="min"/>, <paramref name="max"/>], then halves every bucket.
    /// </summary>
    public void Update(double percentile, TimeSpan min, TimeSpan max)
    {
        long total = 0;
        for (var i = 0; i < Buckets; i++)
        {
            total += Volatile.Read(ref _counts[i]);
        }

        var delay = TimeSpan.Zero;
        if (total >= MinimumAnswers)
        {
            var wanted = (long)Math.Ceiling(total * percentile / 100);
            long seen = 0;
            var bucket = 0;
            for (; bucket < Buckets - 1; bucket++)
            {
                seen += Volatile.Read(ref _counts[bucket]);
                if (seen >= wanted)
                {
                    break;
                }
            }

            delay = TimeSpan.FromTicks(Math.Clamp(UpperBoundTicks(bucket), min.Ticks, max.Ticks));
        }

        Volatile.Write(ref _delayTicks, delay.Ticks);
        for (var i = 0; i < Buckets; i++)
        {
            var count = Volatile.Read(ref _counts[i]);
            if (count > 0)
            {
                // Rounded up, so a lone old answer goes too; an answer counted meanwhile is kept.
                Interlocked.Add(ref _counts[i], -((count + 1) / 2));
            }
        }
    }

    /// <summary>The bucket of <paramref name="elapsed"/>: octave of its microseconds, then the next two bits.</summary>
    internal static int BucketOf(TimeSpan elapsed)
    {
        var micros = (ulong)Math.Max(elapsed.Ticks / TimeSpan.TicksPerMicrosecond, 1);
        var octave = BitOperations.Log2(micros);
        var sub = octave >= 2 ? (int)((micros >> (octave - 2)) & (SubBuckets - 1)) : 0;
        return Math.Min((octave * SubBuckets) + sub, Buckets - 1);
    }

    /// <summary>The longest time (in ticks) that falls in <paramref name="bucket"/>.</summary>
    internal static long UpperBoundTicks(int bucket)
    {
        var octave = bucket / SubBuckets;
        var sub = bucket % SubBuckets;
        var micros = octave >= 2 ? (long)(SubBuckets + sub + 1) << (octave - 2) : 1L << (octave + 1);
        return micros * TimeSpan.TicksPerMicrosecond;
    }
}
