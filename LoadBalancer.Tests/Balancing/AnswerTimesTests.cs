using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Balancing;

/// <summary>A server's decaying histogram of answer times and the hedging delay read from it.</summary>
[Trait(TestCategories.Name, TestCategories.Unit)]
public sealed class AnswerTimesTests
{
    private static readonly TimeSpan Min = TimeSpan.FromMilliseconds(1);
    private static readonly TimeSpan Max = TimeSpan.FromSeconds(1);

    [Theory]
    [InlineData(1)]
    [InlineData(3)]
    [InlineData(17)]
    [InlineData(999)]
    [InlineData(10_000)]
    [InlineData(123_456)]
    [InlineData(7_000_000)]
    public void Each_time_falls_in_a_bucket_at_most_a_quarter_octave_wide(long micros)
    {
        var elapsed = TimeSpan.FromMicroseconds(micros);
        var upper = AnswerTimes.UpperBoundTicks(AnswerTimes.BucketOf(elapsed));

        Assert.InRange(upper, elapsed.Ticks + 1, (long)(elapsed.Ticks * 1.25) + (2 * TimeSpan.TicksPerMicrosecond));
    }

    [Fact]
    public void The_delay_is_the_percentile_of_the_answers_counted()
    {
        var times = Record(990, TimeSpan.FromMilliseconds(10), 10, TimeSpan.FromMilliseconds(800));
        times.Update(99, Min, Max);
        Assert.InRange(times.HedgeDelay, TimeSpan.FromMilliseconds(10), TimeSpan.FromMilliseconds(12.5));

        var slower = Record(990, TimeSpan.FromMilliseconds(10), 10, TimeSpan.FromMilliseconds(800));
        slower.Update(99.5, Min, Max);
        Assert.InRange(slower.HedgeDelay, TimeSpan.FromMilliseconds(800), TimeSpan.FromMilliseconds(1000));
    }

    [Fact]
    public void The_delay_stays_within_its_bounds()
    {
        var fast = Record(100, TimeSpan.FromMicroseconds(50), 0, default);
        fast.Update(99, TimeSpan.FromMilliseconds(10), Max);
        Assert.Equal(TimeSpan.FromMilliseconds(10), fast.HedgeDelay);

        var slow = Record(100, TimeSpan.FromSeconds(5), 0, default);
        slow.Update(99, Min, Max);
        Assert.Equal(Max, slow.HedgeDelay);
    }

    [Fact]
    public void Too_few_answers_set_no_delay_and_old_answers_fade()
    {
        var few = Record(AnswerTimes.MinimumAnswers - 1, TimeSpan.FromMilliseconds(10), 0, default);
        few.Update(99, Min, Max);
        Assert.Equal(TimeSpan.Zero, few.HedgeDelay);

        // Enough once; each update halves them, so without new answers the server soon says too little again.
        var fading = Record(2 * AnswerTimes.MinimumAnswers, TimeSpan.FromMilliseconds(10), 0, default);
        fading.Update(99, Min, Max);
        Assert.NotEqual(TimeSpan.Zero, fading.HedgeDelay);
        fading.Update(99, Min, Max);
        Assert.NotEqual(TimeSpan.Zero, fading.HedgeDelay);
        fading.Update(99, Min, Max);
        Assert.Equal(TimeSpan.Zero, fading.HedgeDelay);
    }

    private static AnswerTimes Record(int count, TimeSpan each, int slowCount, TimeSpan slow)
    {
        var times = new AnswerTimes();
        for (var i = 0; i < count; i++)
        {
            times.Record(each);
        }

        for (var i = 0; i < slowCount; i++)
        {
            times.Record(slow);
        }

        return times;
    }
}
