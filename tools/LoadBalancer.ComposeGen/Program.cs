using LoadBalancer.ComposeGen.Compose;
using LoadBalancer.ComposeGen.Kubernetes;
using LoadBalancer.ComposeGen.Manifest;

// Usage: LoadBalancer.ComposeGen --manifest <aspire-manifest.json> [--format compose|kubernetes] [--output docker-compose.yml] [--check]
// scripts/generate-compose.sh publishes the AppHost's manifest and runs this; see the Plain Docker section of README.md.
// With --format kubernetes the output is a folder (scripts/generate-kubernetes.sh: deploy/kubernetes; docs/kubernetes.md).
string? manifestPath = null;
string? outputPath = null;
var format = "compose";
var check = false;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--manifest" when i + 1 < args.Length:
            manifestPath = args[++i];
            break;
        case "--output" when i + 1 < args.Length:
            outputPath = args[++i];
            break;
        case "--check":
            check = true;
            break;
        case "--format" when i + 1 < args.Length && args[i + 1] is "compose" or "kubernetes":
            format = args[++i];
            break;
        default:
            Console.Error.WriteLine($"Unknown argument '{args[i]}'. Usage: --manifest <aspire-manifest.json> [--format compose|kubernetes] [--output docker-compose.yml] [--check]");
            return 2;
    }
}

if (manifestPath is null)
{
    Console.Error.WriteLine("--manifest <aspire-manifest.json> is required (scripts/generate-compose.sh produces it).");
    return 2;
}

if (format == "kubernetes")
{
    return KubernetesCommand.Run(AspireManifest.Load(manifestPath), Path.GetFullPath(outputPath ?? "deploy/kubernetes"), check);
}

outputPath = Path.GetFullPath(outputPath ?? "docker-compose.yml");
var model = ComposeGenerator.Generate(AspireManifest.Load(manifestPath), repositoryRoot: Path.GetDirectoryName(outputPath)!);

// The provisioning overlay is derived from the same model and goes beside the compose file.
var overlayPath = Path.Combine(Path.GetDirectoryName(outputPath)!, ProvisioningOverlay.FileName);
if (check)
{
    var failed = false;
    foreach (var (path, expected) in new[] { (outputPath, ComposeFile.ToYaml(model)), (overlayPath, ProvisioningOverlay.ToYaml(model)) })
    {
        var differences = ComposeDiff.Compare(ComposeFile.Parse(expected), ComposeFile.Parse(File.Exists(path) ? File.ReadAllText(path) : ""));
        foreach (var difference in differences)
        {
            Console.Error.WriteLine(difference);
        }

        Console.WriteLine(differences.Count == 0 ? $"{path} matches the manifest." : $"{path} differs from the manifest: regenerate it.");
        failed |= differences.Count > 0;
    }

    return failed ? 1 : 0;
}

ComposeFile.Write(model, outputPath);
File.WriteAllText(overlayPath, ProvisioningOverlay.ToYaml(model));
Console.WriteLine($"Wrote {outputPath}: {((YamlDotNet.RepresentationModel.YamlMappingNode)model.Document["services"]).Children.Count} services, {model.Variables.Count} variables.");
return 0;
