namespace LoadBalancer.Measurement;

/// <summary>
/// How many keys change server when membership changes: the cost consistent hashing exists to keep low.
/// </summary>
/// <remarks>
/// When a server joins N others, the ideal is that only the keys it takes over move: 1/(N+1) of them. Anything above
/// that is needless churn (caches and sessions lost for keys whose server still exists).
/// </remarks>
public static class Disruption
{
    /// <summary>The share of keys (0..1) whose owner differs between <paramref name="before"/> and <paramref name="after"/>.</summary>
    public static double MovedFraction(IReadOnlyList<string> before, IReadOnlyList<string> after) =>
        MovedFraction(before, after, except: null);

    /// <summary>
    /// The share of keys (0..1) whose owner differs between <paramref name="before"/> and <paramref name="after"/>,
    /// leaving out the keys <paramref name="except"/> owned before (a leaver's keys must move; the others need not).
    /// </summary>
    public static double MovedFraction<T>(IReadOnlyList<T?> before, IReadOnlyList<T?> after, T? except)
        where T : class
    {
        ArgumentNullException.ThrowIfNull(before);
        ArgumentNullException.ThrowIfNull(after);
        if (before.Count != after.Count)
        {
            throw new ArgumentException("Both assignments must cover the same keys.", nameof(after));
        }

        if (before.Count == 0)
        {
            return 0;
        }

        var owners = EqualityComparer<T>.Default;
        var moved = 0;
        for (var i = 0; i < before.Count; i++)
        {
            if (!owners.Equals(before[i], after[i]) && (except is null || !owners.Equals(before[i], except)))
            {
                moved++;
            }
        }

        return (double)moved / before.Count;
    }

    /// <summary>The minimum share of keys that must move when one server joins <paramref name="serversBefore"/> others.</summary>
    public static double IdealOnJoin(int serversBefore)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(serversBefore, 1);
        return 1.0 / (serversBefore + 1);
    }
}
