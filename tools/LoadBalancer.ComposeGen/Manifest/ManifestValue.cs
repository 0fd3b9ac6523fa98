using System.Text.RegularExpressions;

namespace LoadBalancer.ComposeGen.Manifest;

/// <summary>
/// A manifest value split into its literal text and its <c>{resource.path}</c> expressions (e.g.
/// <c>{server1.bindings.http.url}</c>, <c>{admin-key.value}</c>), which each output format resolves in its own way.
/// </summary>
internal static partial class ManifestValue
{
    /// <summary>One piece of a value: literal text when <see cref="Resource"/> is null, else an expression.</summary>
    public readonly record struct Part(string Text, string? Resource, string? Path);

    /// <summary>The pieces of <paramref name="value"/>, in order.</summary>
    public static IEnumerable<Part> Split(string value)
    {
        var last = 0;
        foreach (Match match in Expression().Matches(value))
        {
            if (match.Index > last)
            {
                yield return new Part(value[last..match.Index], null, null);
            }

            yield return new Part(match.Value, match.Groups["resource"].Value, match.Groups["path"].Value);
            last = match.Index + match.Length;
        }

        if (last < value.Length)
        {
            yield return new Part(value[last..], null, null);
        }
    }

    [GeneratedRegex(@"\{(?<resource>[A-Za-z0-9_-]+)\.(?<path>[A-Za-z0-9_.-]+)\}")]
    private static partial Regex Expression();
}
