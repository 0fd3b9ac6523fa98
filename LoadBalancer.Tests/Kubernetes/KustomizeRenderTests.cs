using LoadBalancer.Tests.Infrastructure;
using k8s;
using k8s.Models;

namespace LoadBalancer.Tests.Kubernetes;

/// <summary>
/// <c>kubectl kustomize deploy/kubernetes</c> renders (no cluster: kustomize is client-side), and every rendered object
/// reads back into the official client's typed models with unknown fields refused (the CI step checks the OpenAPI
/// schemas: scripts/validate-kubernetes.sh).
/// </summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class KustomizeRenderTests
{
    [KubectlFact]
    public async Task The_committed_folder_renders_every_object()
    {
        var (exitCode, output, error) = await KubernetesFolderFixture.RenderAsync(KubernetesFolderFixture.CommittedFolder);

        Assert.True(exitCode == 0, $"kubectl kustomize failed: {error}");
        var objects = KubernetesYaml.LoadAllFromString(output, strict: true);
        Assert.Equal(
            ["ConfigMap/proxy-env", "ConfigMap/server-env", "Deployment/aspire-dashboard", "Deployment/proxy", "Namespace/loadbalancer",
             "PodDisruptionBudget/proxy", "Role/proxy", "RoleBinding/proxy", "Secret/admin-key", "Service/aspire-dashboard", "Service/proxy",
             "Service/server", "ServiceAccount/proxy", "StatefulSet/server"],
            objects.Cast<IKubernetesObject<V1ObjectMeta>>()
                .Select(o => $"{o.Kind}/{HashlessName(o)}")
                .Order(StringComparer.Ordinal));
    }

    [KubectlFact]
    public async Task The_rendered_proxy_reads_its_generated_ConfigMap_and_Secret_by_their_hashed_names()
    {
        var (_, output, _) = await KubernetesFolderFixture.RenderAsync(KubernetesFolderFixture.CommittedFolder);
        var objects = KubernetesYaml.LoadAllFromString(output, strict: true);
        var proxy = objects.OfType<V1Deployment>().Single(d => d.Metadata.Name == "proxy");
        var container = proxy.Spec.Template.Spec.Containers.Single();
        var configMap = objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Name.StartsWith("proxy-env-", StringComparison.Ordinal));
        var secret = objects.OfType<V1Secret>().Single();

        // Hashed names: a changed setting or key gives a new name, so the Deployment rolls its pods.
        Assert.Equal(configMap.Metadata.Name, container.EnvFrom.Single().ConfigMapRef.Name);
        Assert.Equal(secret.Metadata.Name, container.Env.Single(e => e.Name == "Admin__ApiKey").ValueFrom.SecretKeyRef.Name);
        Assert.Equal("true", configMap.Data["Kubernetes__Enabled"]);
        Assert.Equal("loadbalancer", objects.OfType<V1RoleBinding>().Single().Subjects.Single().NamespaceProperty);
        Assert.Equal("loadbalancer-proxy:latest", container.Image);
    }

    [KubectlFact]
    public async Task Without_the_users_admin_key_file_the_folder_does_not_render_and_says_which_file()
    {
        var (exitCode, _, error) = await KubernetesFolderFixture.RenderAsync(KubernetesFolderFixture.CommittedFolder, secrets: false);

        Assert.NotEqual(0, exitCode);
        Assert.Contains("admin-key.env", error, StringComparison.Ordinal);
    }

    [KubectlFact]
    public async Task A_misspelt_field_in_a_rendered_object_is_refused()
    {
        var (_, output, _) = await KubernetesFolderFixture.RenderAsync(KubernetesFolderFixture.CommittedFolder);

        var broken = output.Replace("  podManagementPolicy: Parallel", "  podManagementPolicie: Parallel", StringComparison.Ordinal);

        Assert.NotEqual(output, broken);
        Assert.ThrowsAny<Exception>(() => KubernetesYaml.LoadAllFromString(broken, strict: true));
    }

    // kustomize appends a content hash to generated ConfigMaps and Secrets.
    private static string HashlessName(IKubernetesObject<V1ObjectMeta> o) =>
        o.Kind is "ConfigMap" or "Secret" ? o.Metadata.Name[..o.Metadata.Name.LastIndexOf('-')] : o.Metadata.Name;
}
