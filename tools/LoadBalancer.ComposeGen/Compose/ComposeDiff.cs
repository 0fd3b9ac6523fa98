using YamlDotNet.RepresentationModel;

namespace LoadBalancer.ComposeGen.Compose;

/// <summary>
/// Compares the compose document derived from the AppHost with a committed one and names each difference by its path
/// (<c>services.proxy.environment.services__server4__http__0</c>), so a drift reads as what to fix.
/// </summary>
public static class ComposeDiff
{
    /// <summary>The differences between <paramref name="derived"/> (from the AppHost) and <paramref name="committed"/>.</summary>
    /// <param name="derived">What the AppHost derives.</param>
    /// <param name="committed">What is committed.</param>
    /// <param name="file">How the messages name the committed document (the Kubernetes folder names its files).</param>
    public static IReadOnlyList<string> Compare(YamlNode derived, YamlNode committed, string file = "the compose file")
    {
        var differences = new List<string>();
        Compare(derived, committed, "", differences, file);
        return differences;
    }

    private static void Compare(YamlNode derived, YamlNode committed, string path, List<string> differences, string file)
    {
        switch (derived, committed)
        {
            case (YamlMappingNode expected, YamlMappingNode actual):
                foreach (var (key, value) in expected.Children)
                {
                    var child = Join(path, key);
                    if (actual.Children.TryGetValue(key, out var other))
                    {
                        Compare(value, other, child, differences, file);
                    }
                    else
                    {
                        differences.Add($"{child}: missing from {file} (the AppHost has {Describe(value)})");
                    }
                }

                foreach (var (key, value) in actual.Children.Where(c => !expected.Children.ContainsKey(c.Key)))
                {
                    differences.Add($"{Join(path, key)}: in {file} ({Describe(value)}) but not derived from the AppHost");
                }

                break;

            case (YamlSequenceNode expected, YamlSequenceNode actual):
                for (var i = 0; i < Math.Max(expected.Children.Count, actual.Children.Count); i++)
                {
                    var child = $"{path}[{i}]";
                    if (i >= actual.Children.Count)
                    {
                        differences.Add($"{child}: missing from {file} (the AppHost has {Describe(expected.Children[i])})");
                    }
                    else if (i >= expected.Children.Count)
                    {
                        differences.Add($"{child}: in {file} ({Describe(actual.Children[i])}) but not derived from the AppHost");
                    }
                    else
                    {
                        Compare(expected.Children[i], actual.Children[i], child, differences, file);
                    }
                }

                break;

            case (YamlScalarNode expected, YamlScalarNode actual):
                if (!string.Equals(expected.Value, actual.Value, StringComparison.Ordinal))
                {
                    differences.Add($"{path}: {file} has '{actual.Value}', the AppHost gives '{expected.Value}'");
                }

                break;

            default:
                differences.Add($"{path}: {file} has {Describe(committed)}, the AppHost gives {Describe(derived)}");
                break;
        }
    }

    private static string Join(string path, YamlNode key)
    {
        var name = key is YamlScalarNode scalar ? scalar.Value : key.ToString();
        return path.Length == 0 ? name ?? "" : $"{path}.{name}";
    }

    private static string Describe(YamlNode node) => node switch
    {
        YamlScalarNode scalar => $"'{scalar.Value}'",
        YamlSequenceNode sequence => $"a list of {Count(sequence.Children.Count, "item")}",
        YamlMappingNode mapping => $"a section of {Count(mapping.Children.Count, "entry")}",
        _ => node.NodeType.ToString(),
    };

    private static string Count(int count, string noun) =>
        count == 1 ? $"1 {noun}" : $"{count} {(noun.EndsWith('y') ? noun[..^1] + "ies" : noun + "s")}";
}
