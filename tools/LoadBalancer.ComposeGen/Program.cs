using LoadBalancer.ComposeGen.Compose;
using LoadBalancer.ComposeGen.Manifest;

// Usage: LoadBalancer.ComposeGen --manifest <aspire-manifest.json> [--output docker-compose.yml] [--check]
// scripts/generate-compose.sh publishes the AppHost's manifest and runs this; see the Plain Docker section of README.md.
string? manifestPath = null;
var outputPath = "docker-compose.yml";
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
        default:
            Console.Error.WriteLine($"Unknown argument '{args[i]}'. Usage: --manifest <aspire-manifest.json> [--output docker-compose.yml] [--check]");
            return 2;
    }
}

if (manifestPath is null)
{
    Console.Error.WriteLine("--manifest <aspire-manifest.json> is required (scripts/generate-compose.sh produces it).");
    return 2;
}

outputPath = Path.GetFullPath(outputPath);
var model = ComposeGenerator.Generate(AspireManifest.Load(manifestPath), repositoryRoot: Path.GetDirectoryName(outputPath)!);

if (check)
{
    var differences = ComposeDiff.Compare(
        ComposeFile.Parse(ComposeFile.ToYaml(model)),
        ComposeFile.Parse(File.Exists(outputPath) ? File.ReadAllText(outputPath) : ""));
    foreach (var difference in differences)
    {
        Console.Error.WriteLine(difference);
    }

    Console.WriteLine(differences.Count == 0 ? $"{outputPath} matches the manifest." : $"{outputPath} differs from the manifest: regenerate it.");
    return differences.Count == 0 ? 0 : 1;
}

ComposeFile.Write(model, outputPath);
Console.WriteLine($"Wrote {outputPath}: {((YamlDotNet.RepresentationModel.YamlMappingNode)model.Document["services"]).Children.Count} services, {model.Variables.Count} variables.");
return 0;
