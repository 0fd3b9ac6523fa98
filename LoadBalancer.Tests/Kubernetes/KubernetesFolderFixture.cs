using System.Diagnostics;
using LoadBalancer.ComposeGen.Kubernetes;
using LoadBalancer.Tests.Compose;

namespace LoadBalancer.Tests.Kubernetes;

/// <summary>The committed deploy/kubernetes folder, derived from the AppHost as scripts/generate-kubernetes.sh does, and rendered.</summary>
internal static class KubernetesFolderFixture
{
    /// <summary>The committed folder.</summary>
    public static string CommittedFolder => Path.Combine(AppHostManifest.RepositoryRoot, "deploy", "kubernetes");

    /// <summary>The differences between what the AppHost run with <paramref name="appHostArgs"/> derives and the committed folder.</summary>
    public static async Task<IReadOnlyList<string>> DriftFromCommittedAsync(params string[] appHostArgs) =>
        KubernetesFolder.Compare(KubernetesGenerator.Generate(await AppHostManifest.PublishAsync(appHostArgs)), CommittedFolder);

    /// <summary>
    /// <c>kubectl kustomize</c> of a copy of <paramref name="folder"/>, its Secrets' env files filled from each
    /// <c>*.env.example</c> with a throwaway value (the real ones are never committed), as scripts/validate-kubernetes.sh does;
    /// without <paramref name="secrets"/>, with none at all, as a user who has not written them has.
    /// </summary>
    public static async Task<(int ExitCode, string Output, string Error)> RenderAsync(string folder, bool secrets = true)
    {
        var copy = Directory.CreateTempSubdirectory("loadbalancer-kustomize-");
        try
        {
            CopyFolder(folder, copy.FullName);
            foreach (var secret in Directory.EnumerateFiles(copy.FullName, "*.env", SearchOption.AllDirectories))
            {
                File.Delete(secret);
            }

            foreach (var example in secrets ? Directory.EnumerateFiles(copy.FullName, "*.env.example", SearchOption.AllDirectories) : [])
            {
                var lines = File.ReadAllLines(example).Select(line => line.EndsWith('=') && !line.StartsWith('#') ? line + "throwaway-test-value" : line);
                File.WriteAllLines(example[..^".example".Length], lines);
            }

            var start = new ProcessStartInfo(KubectlFactAttribute.Kubectl!, ["kustomize", copy.FullName])
            {
                RedirectStandardOutput = true,
                RedirectStandardError = true,
            };
            using var process = Process.Start(start)!;
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(60));
            var output = process.StandardOutput.ReadToEndAsync(cts.Token);
            var error = process.StandardError.ReadToEndAsync(cts.Token);
            await process.WaitForExitAsync(cts.Token);
            return (process.ExitCode, await output, await error);
        }
        finally
        {
            copy.Delete(recursive: true);
        }
    }

    public static void CopyFolder(string from, string to)
    {
        foreach (var file in Directory.EnumerateFiles(from, "*", SearchOption.AllDirectories))
        {
            var target = Path.Combine(to, Path.GetRelativePath(from, file));
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
    }
}

/// <summary>A test that runs <c>kubectl</c>; skipped, saying so, where it is not on PATH (no cluster is ever contacted).</summary>
public sealed class KubectlFactAttribute : FactAttribute
{
    /// <summary>The kubectl on PATH, or null.</summary>
    public static string? Kubectl { get; } = (Environment.GetEnvironmentVariable("PATH") ?? "")
        .Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
        .Select(directory => Path.Combine(directory, "kubectl"))
        .FirstOrDefault(File.Exists);

    public KubectlFactAttribute()
    {
        if (Kubectl is null)
        {
            Skip = "kubectl is not on PATH: install the Kubernetes client (with kustomize built in) to render deploy/kubernetes.";
        }
    }
}
