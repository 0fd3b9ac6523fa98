namespace LoadBalancer.Tests.Infrastructure;

/// <summary>Deterministic key sets for distribution tests.</summary>
public static class Keys
{
    /// <summary><paramref name="count"/> distinct keys drawn from a seeded generator.</summary>
    public static string[] Random(int count, int seed = 12345)
    {
        var random = new Random(seed);
        var keys = new HashSet<string>(count);
        while (keys.Count < count)
        {
            keys.Add(random.NextInt64().ToString("x16", System.Globalization.CultureInfo.InvariantCulture));
        }

        return [.. keys];
    }
}
