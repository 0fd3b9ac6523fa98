using LoadBalancer.ComposeGen.Compose;
using YamlDotNet.RepresentationModel;

namespace LoadBalancer.ComposeGen.Kubernetes;

/// <summary>The derived folder: its files by path relative to the folder (<c>proxy/deployment.yaml</c>).</summary>
public sealed record KubernetesModel(IReadOnlyList<KubernetesFile> Files);

/// <summary>One file of the folder, as written.</summary>
public sealed record KubernetesFile(string Path, string Content)
{
    private const string Header =
        "# Generated from the AppHost's Aspire manifest by tools/LoadBalancer.ComposeGen (--format kubernetes): do not edit\n" +
        "# by hand. Regenerate with scripts/generate-kubernetes.sh; a test fails when this folder no longer matches the\n" +
        "# AppHost. See docs/kubernetes.md.\n";

    /// <summary>Whether the file is YAML (compared by content) rather than text (compared as written).</summary>
    public bool IsYaml => Path.EndsWith(".yaml", StringComparison.Ordinal);

    /// <summary>A YAML file holding <paramref name="node"/>, under the generated-file header.</summary>
    public static KubernetesFile Yaml(string path, YamlNode node) => new(path, ComposeFile.ToYaml(node, Header));

    /// <summary>A text file written as given.</summary>
    public static KubernetesFile Text(string path, string content) => new(path, content);
}

/// <summary>Writes the derived folder and compares it with a committed one.</summary>
public static class KubernetesFolder
{
    /// <summary>Writes every file of <paramref name="model"/> under <paramref name="directory"/> and removes generated files it no longer has.</summary>
    public static void Write(KubernetesModel model, string directory)
    {
        var wanted = model.Files.Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
        foreach (var stale in Generated(directory).Where(path => !wanted.Contains(path)))
        {
            File.Delete(System.IO.Path.Combine(directory, stale));
        }

        foreach (var file in model.Files)
        {
            var path = System.IO.Path.Combine(directory, file.Path);
            Directory.CreateDirectory(System.IO.Path.GetDirectoryName(path)!);
            File.WriteAllText(path, file.Content);
        }

        foreach (var empty in Directory.GetDirectories(directory).Where(d => !Directory.EnumerateFileSystemEntries(d).Any()))
        {
            Directory.Delete(empty);
        }
    }

    /// <summary>
    /// The differences between <paramref name="derived"/> (from the AppHost) and the folder at <paramref name="directory"/>:
    /// files missing or extra, and within a YAML file each differing entry by its path.
    /// </summary>
    public static IReadOnlyList<string> Compare(KubernetesModel derived, string directory)
    {
        var differences = new List<string>();
        foreach (var file in derived.Files)
        {
            var path = System.IO.Path.Combine(directory, file.Path);
            if (!File.Exists(path))
            {
                differences.Add($"{file.Path}: missing from {directory} (the AppHost derives it)");
            }
            else if (file.IsYaml)
            {
                differences.AddRange(ComposeDiff.Compare(ComposeFile.Parse(file.Content), ComposeFile.Parse(File.ReadAllText(path)), "the committed file")
                    .Select(d => $"{file.Path}: {d}"));
            }
            else if (File.ReadAllText(path) != file.Content)
            {
                differences.Add($"{file.Path}: differs from what the AppHost derives");
            }
        }

        var wanted = derived.Files.Select(f => f.Path).ToHashSet(StringComparer.Ordinal);
        differences.AddRange(Generated(directory).Where(p => !wanted.Contains(p)).Select(p => $"{p}: in {directory} but not derived from the AppHost"));
        return differences;
    }

    // The generated kinds of file (a user's own <parameter>.env is not one of them), relative to the folder.
    private static IEnumerable<string> Generated(string directory) =>
        !Directory.Exists(directory)
            ? []
            : Directory.EnumerateFiles(directory, "*", SearchOption.AllDirectories)
                .Where(f => f.EndsWith(".yaml", StringComparison.Ordinal) || f.EndsWith(".env.example", StringComparison.Ordinal))
                .Select(f => System.IO.Path.GetRelativePath(directory, f).Replace('\\', '/'))
                .Order(StringComparer.Ordinal);
}
