namespace LoadBalancer.Experiments.Load;

/// <summary>Request ids as the assignment's clients send them: random six-digit numbers, from a seed so runs repeat.</summary>
public static class RequestIds
{
    /// <summary>The seed used unless a run asks for another.</summary>
    public const int DefaultSeed = 20_240_512;

    /// <summary><paramref name="count"/> six-digit ids (100000–999999) drawn from <paramref name="seed"/>.</summary>
    public static string[] Create(int count, int seed = DefaultSeed)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        var random = new Random(seed);
        var ids = new string[count];
        for (var i = 0; i < count; i++)
        {
            ids[i] = random.Next(100_000, 1_000_000).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }

        return ids;
    }
}
