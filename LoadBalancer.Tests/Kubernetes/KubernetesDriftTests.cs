using LoadBalancer.Tests.Infrastructure;
namespace LoadBalancer.Tests.Kubernetes;

/// <summary>The committed deploy/kubernetes folder stays what the AppHost's manifest derives.</summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class KubernetesDriftTests
{
    [Fact]
    public async Task Committed_folder_matches_the_AppHost()
    {
        var differences = await KubernetesFolderFixture.DriftFromCommittedAsync();

        Assert.True(differences.Count == 0,
            "deploy/kubernetes no longer matches the AppHost; run scripts/generate-kubernetes.sh and commit the result.\n" +
            string.Join("\n", differences));
    }

    [Fact]
    public async Task More_servers_in_the_AppHost_are_more_replicas_of_the_one_StatefulSet_and_nothing_else()
    {
        var differences = await KubernetesFolderFixture.DriftFromCommittedAsync("LoadBalancer:Servers=5");

        // The proxy's settings carry no list of servers: it reads them from the API, so only the count changes.
        Assert.Equal(["server/statefulset.yaml: spec.replicas: the committed file has '3', the AppHost gives '5'"], differences);
    }

    [Fact]
    public async Task A_proxy_setting_added_in_the_AppHost_is_named_in_the_proxy_ConfigMap()
    {
        var differences = await KubernetesFolderFixture.DriftFromCommittedAsync("Proxy:Balancing:Algorithm=Maglev");

        Assert.NotEmpty(differences);
        Assert.All(differences, d => Assert.StartsWith("proxy/kustomization.yaml: configMapGenerator[0].literals[", d, StringComparison.Ordinal));
        Assert.Contains(differences, d => d.Contains("'Balancing__Algorithm=Maglev'", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_file_the_AppHost_does_not_derive_is_named_and_a_user_secret_is_not()
    {
        var copy = Directory.CreateTempSubdirectory("loadbalancer-kubernetes-");
        try
        {
            KubernetesFolderFixture.CopyFolder(KubernetesFolderFixture.CommittedFolder, copy.FullName);
            await File.WriteAllTextAsync(Path.Combine(copy.FullName, "server", "extra.yaml"), "kind: ConfigMap\n");
            await File.WriteAllTextAsync(Path.Combine(copy.FullName, "proxy", "admin-key.env"), "ADMIN_KEY=the-user-s-own\n");
            File.Delete(Path.Combine(copy.FullName, "proxy", "poddisruptionbudget.yaml"));

            var differences = LoadBalancer.ComposeGen.Kubernetes.KubernetesFolder.Compare(
                LoadBalancer.ComposeGen.Kubernetes.KubernetesGenerator.Generate(await Compose.AppHostManifest.PublishAsync()), copy.FullName);

            Assert.Equal(
                [
                    $"proxy/poddisruptionbudget.yaml: missing from {copy.FullName} (the AppHost derives it)",
                    $"server/extra.yaml: in {copy.FullName} but not derived from the AppHost",
                ],
                differences);
        }
        finally
        {
            copy.Delete(recursive: true);
        }
    }
}
