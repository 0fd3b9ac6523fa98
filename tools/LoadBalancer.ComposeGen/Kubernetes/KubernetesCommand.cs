using LoadBalancer.ComposeGen.Manifest;

namespace LoadBalancer.ComposeGen.Kubernetes;

/// <summary><c>--format kubernetes</c>: writes the folder, or with <c>--check</c> says how the committed one differs.</summary>
internal static class KubernetesCommand
{
    public static int Run(AspireManifest manifest, string directory, bool check)
    {
        var model = KubernetesGenerator.Generate(manifest);
        if (check)
        {
            var differences = KubernetesFolder.Compare(model, directory);
            foreach (var difference in differences)
            {
                Console.Error.WriteLine(difference);
            }

            Console.WriteLine(differences.Count == 0 ? $"{directory} matches the manifest." : $"{directory} differs from the manifest: regenerate it.");
            return differences.Count == 0 ? 0 : 1;
        }

        KubernetesFolder.Write(model, directory);
        Console.WriteLine($"Wrote {directory}: {model.Files.Count} files.");
        return 0;
    }
}
