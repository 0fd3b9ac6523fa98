namespace LoadBalancer.Proxy.Hashing;

/// <summary>The hash functions the proxy knows, by configuration name.</summary>
public static class HashFunctions
{
    private static readonly IHashFunction[] All =
        [new XxHash3Function(), new Murmur3Function(), new Fnv1aFunction(), new AssignmentHashFunction()];

    /// <summary>Names accepted in configuration.</summary>
    public static IReadOnlyList<string> Names { get; } = Array.ConvertAll(All, f => f.Name);

    /// <summary>Every function, the default first.</summary>
    public static IReadOnlyList<IHashFunction> Functions => All;

    /// <summary>Finds a hash function by name (case-insensitive).</summary>
    public static bool TryGet(string? name, out IHashFunction function)
    {
        foreach (var candidate in All)
        {
            if (string.Equals(candidate.Name, name, StringComparison.OrdinalIgnoreCase))
            {
                function = candidate;
                return true;
            }
        }

        function = null!;
        return false;
    }
}
