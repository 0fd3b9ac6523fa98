using LoadBalancer.Proxy.Balancing;

namespace LoadBalancer.Proxy.Telemetry;

/// <summary>
/// Measures how much of the key space a membership change moved, by routing a fixed set of sample keys through the old
/// and the new table and counting those whose server changed.
/// </summary>
/// <remarks>
/// The keys are decimal numbers from a fixed seed (like the assignment's six-digit request ids), so every hash function
/// can take them, and the same keys are used for every change. Formatted on the stack: no allocation per key.
/// </remarks>
public static class KeySpaceSampler
{
    private const int Seed = 20_160_512;

    /// <summary>The share (0–1) of <paramref name="sampleKeys"/> keys served by another server in <paramref name="current"/>.</summary>
    public static double RemappedShare(TableSnapshot previous, TableSnapshot current, int sampleKeys)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(sampleKeys, 1);
        var random = new Random(Seed);
        Span<char> buffer = stackalloc char[20];
        var moved = 0;
        for (var i = 0; i < sampleKeys; i++)
        {
            random.Next(100_000, 1_000_000).TryFormat(buffer, out var written, provider: System.Globalization.CultureInfo.InvariantCulture);
            var key = buffer[..written];
            var before = previous.Table.Pick(previous.Hash.HashKey(key), []);
            var after = current.Table.Pick(current.Hash.HashKey(key), []);
            var beforeName = before < 0 ? null : previous.Table.Servers[before].Name;
            var afterName = after < 0 ? null : current.Table.Servers[after].Name;
            if (!string.Equals(beforeName, afterName, StringComparison.Ordinal))
            {
                moved++;
            }
        }

        return (double)moved / sampleKeys;
    }
}
