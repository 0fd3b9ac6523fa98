using Aspire.Hosting.Testing;
using LoadBalancer.ComposeGen.Compose;
using LoadBalancer.ComposeGen.Manifest;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Tests.Compose;

/// <summary>
/// Publishes the real AppHost's Aspire manifest in-process (publish mode: no DCP, no resources started, no ports
/// bound; about 1.5 s here against about 2 s for <c>dotnet run … --publisher manifest</c> after a build) and derives
/// the compose document from it, as scripts/generate-compose.sh does.
/// </summary>
internal static class AppHostManifest
{
    public static readonly TimeSpan Timeout = TimeSpan.FromMinutes(2);

    /// <summary>The repository root: the folder above the AppHost project that holds the solution.</summary>
    public static string RepositoryRoot { get; } = FindRepositoryRoot(Projects.LoadBalancer_AppHost.ProjectPath);

    /// <summary>The committed docker-compose.yml.</summary>
    public static string CommittedComposePath => Path.Combine(RepositoryRoot, "docker-compose.yml");

    /// <summary>The committed docker-compose.provisioning.yml.</summary>
    public static string CommittedOverlayPath => Path.Combine(RepositoryRoot, ProvisioningOverlay.FileName);

    /// <summary>The differences between the overlay the AppHost derives and the committed docker-compose.provisioning.yml.</summary>
    public static async Task<IReadOnlyList<string>> OverlayDriftFromCommittedAsync(params string[] appHostArgs)
    {
        var derived = await DeriveComposeAsync(appHostArgs);
        return ComposeDiff.Compare(
            ComposeFile.Parse(ProvisioningOverlay.ToYaml(derived)),
            ComposeFile.Parse(await File.ReadAllTextAsync(CommittedOverlayPath)));
    }

    /// <summary>Publishes the manifest with <paramref name="appHostArgs"/> as extra AppHost configuration.</summary>
    public static async Task<AspireManifest> PublishAsync(params string[] appHostArgs)
    {
        var directory = Directory.CreateTempSubdirectory("loadbalancer-manifest-");
        try
        {
            var path = Path.Combine(directory.FullName, "aspire-manifest.json");
            using var cts = new CancellationTokenSource(Timeout);
            var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.LoadBalancer_AppHost>(
                ["--publisher", "manifest", "--output-path", path, .. appHostArgs], cts.Token);
            builder.Services.AddLogging(logging => logging.SetMinimumLevel(LogLevel.Warning).AddFilter("Aspire.Hosting", LogLevel.Warning));
            await using (var app = await builder.BuildAsync(cts.Token))
            {
                // In publish mode the application runs the manifest publisher, then stops itself.
                await app.RunAsync(cts.Token);
            }

            return AspireManifest.Load(path);
        }
        finally
        {
            directory.Delete(recursive: true);
        }
    }

    /// <summary>Derives the compose document from the AppHost run with <paramref name="appHostArgs"/>.</summary>
    public static async Task<ComposeModel> DeriveComposeAsync(params string[] appHostArgs) =>
        ComposeGenerator.Generate(await PublishAsync(appHostArgs), RepositoryRoot);

    /// <summary>The differences between what the AppHost derives and the committed docker-compose.yml.</summary>
    public static async Task<IReadOnlyList<string>> DriftFromCommittedAsync(params string[] appHostArgs)
    {
        var derived = await DeriveComposeAsync(appHostArgs);
        return ComposeDiff.Compare(
            ComposeFile.Parse(ComposeFile.ToYaml(derived)),
            ComposeFile.Parse(await File.ReadAllTextAsync(CommittedComposePath)));
    }

    private static string FindRepositoryRoot(string start)
    {
        for (var directory = new DirectoryInfo(start); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "LoadBalancer.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No LoadBalancer.sln above '{start}'.");
    }
}
