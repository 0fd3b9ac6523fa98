namespace LoadBalancer.Measurement;

/// <summary>Orders server names naturally: a common prefix, then the number (server2 before server10).</summary>
public sealed class ServerNameComparer : IComparer<string>
{
    /// <summary>The shared instance.</summary>
    public static ServerNameComparer Instance { get; } = new();

    /// <inheritdoc />
    public int Compare(string? x, string? y)
    {
        if (x is null || y is null)
        {
            return string.CompareOrdinal(x, y);
        }

        var (xPrefix, xNumber) = Split(x);
        var (yPrefix, yNumber) = Split(y);
        var byPrefix = string.CompareOrdinal(xPrefix, yPrefix);
        return byPrefix != 0 ? byPrefix : xNumber != yNumber ? xNumber.CompareTo(yNumber) : string.CompareOrdinal(x, y);
    }

    private static (string Prefix, long Number) Split(string name)
    {
        var digits = name.Length;
        while (digits > 0 && char.IsAsciiDigit(name[digits - 1]))
        {
            digits--;
        }

        return digits < name.Length && name.Length - digits <= 18
            ? (name[..digits], long.Parse(name.AsSpan(digits), System.Globalization.CultureInfo.InvariantCulture))
            : (name, -1);
    }
}
