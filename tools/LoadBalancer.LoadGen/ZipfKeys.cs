using System.Globalization;

namespace LoadBalancer.LoadGen;

/// <summary>
/// Ids drawn from a Zipf distribution: rank k of <c>n</c> is asked with probability (1/k^s) / Σ 1/j^s. Each rank is a
/// distinct six-digit id (100000–999999, as the assignment's clients send), picked from the seed, so the hottest id is
/// not simply the smallest number and every target sees the same sequence.
/// </summary>
internal sealed class ZipfKeys
{
    private readonly double[] _cumulative;
    private readonly string[] _ids;
    private readonly Random _random;

    public ZipfKeys(int count, double s, int seed)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, 900_000);
        ArgumentOutOfRangeException.ThrowIfNegative(s);
        _random = new Random(seed);
        _cumulative = new double[count];
        var sum = 0.0;
        for (var k = 1; k <= count; k++)
        {
            sum += 1 / Math.Pow(k, s);
            _cumulative[k - 1] = sum;
        }

        for (var k = 0; k < count; k++)
        {
            _cumulative[k] /= sum;
        }

        var chosen = new HashSet<int>();
        _ids = new string[count];
        for (var k = 0; k < count; k++)
        {
            int id;
            do
            {
                id = _random.Next(100_000, 1_000_000);
            }
            while (!chosen.Add(id));
            _ids[k] = id.ToString(CultureInfo.InvariantCulture);
        }
    }

    /// <summary>Distinct ids.</summary>
    public int Count => _ids.Length;

    /// <summary>The id of rank <paramref name="rank"/> (0 is the hottest).</summary>
    public string IdOf(int rank) => _ids[rank];

    /// <summary>The probability that a draw is rank <paramref name="rank"/>.</summary>
    public double ShareOf(int rank) => _cumulative[rank] - (rank == 0 ? 0 : _cumulative[rank - 1]);

    /// <summary>The next rank drawn (not thread-safe: one scheduler draws).</summary>
    public int NextRank()
    {
        var u = _random.NextDouble();
        var index = Array.BinarySearch(_cumulative, u);
        index = index >= 0 ? index : ~index;
        return Math.Min(index, _cumulative.Length - 1);
    }
}
