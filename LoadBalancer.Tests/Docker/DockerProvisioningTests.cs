using System.Diagnostics;
using LoadBalancer.ComposeGen.Compose;
using LoadBalancer.Tests.EndToEnd;
using LoadBalancer.Tests.Infrastructure;
using Xunit.Abstractions;
using static LoadBalancer.Tests.Admin.AdminCalls;

namespace LoadBalancer.Tests.Docker;

/// <summary>
/// docker-compose.yml with docker-compose.provisioning.yml on a real Docker engine: the assignment's <c>/add</c>
/// through one proxy replica creates server containers named as asked, <c>/rm</c> through the other removes one, and
/// both replicas route every id identically within 2 s of each answer; nothing is left after the teardown.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Docker)]
[Collection(EndToEndCollection.Name)]
public sealed class DockerProvisioningTests(ITestOutputHelper output)
{
    private const int Ids = 300;
    private static readonly TimeSpan Generous = TimeSpan.FromMinutes(2);

    [DockerFact]
    public async Task Add_creates_named_containers_rm_removes_one_and_both_replicas_agree_after_each()
    {
        var stack = await ComposeStack.UpAsync(output, ProvisioningOverlay.FileName);
        try
        {
            // /add waits for new containers' health checks (10 s apart in the compose file): longer than a request.
            using var one = stack.CreateProxyClient(Generous);
            using var two = stack.CreateProxy2Client(Generous);
            await stack.WaitForProxyAsync(one, Generous);
            await stack.WaitForProxyAsync(two, Generous);
            foreach (var client in new[] { one, two })
            {
                await KeyLoad.WaitForProxyStateAsync(client, "server3", "up", Generous);
            }

            var watch = Stopwatch.StartNew();
            var (status, body) = await SendAsync(one, Add("""{"n":2,"hostnames":["S5","S4"]}""", stack.AdminKey));
            output.WriteLine($"/add answered {(int)status} after {watch.ElapsedMilliseconds} ms: {body}");
            Assert.Equal(HttpStatusCode.OK, status);
            AssertJson(Replicas("S4", "S5", "server1", "server2", "server3"), body);
            Assert.Equal(
                [$"{stack.Project}-S4 S4 {stack.Project}", $"{stack.Project}-S5 S5 {stack.Project}"],
                await CreatedAsync(stack));

            var added = await Owners.AgreeAsync(one, two, "", Ids);
            Assert.Contains("S5", added);

            (status, body) = await SendAsync(two, Remove("""{"n":1,"hostnames":["S5"]}""", stack.AdminKey));
            output.WriteLine($"/rm answered {(int)status}: {body}");
            Assert.Equal(HttpStatusCode.OK, status);
            AssertJson(Replicas("S4", "server1", "server2", "server3"), body);
            Assert.Equal([$"{stack.Project}-S4 S4 {stack.Project}"], await CreatedAsync(stack));

            var removed = await Owners.AgreeAsync(one, two, "", Ids);
            Assert.DoesNotContain("S5", removed);
        }
        catch
        {
            await stack.LogTailAsync();
            throw;
        }
        finally
        {
            await stack.DisposeAsync();
        }

        Assert.Empty(await stack.LeftoversAsync());
    }

    // The containers the proxy created for this stack (any state): name, ring-name label, group label.
    private static async Task<string[]> CreatedAsync(ComposeStack stack)
    {
        var listed = (await DockerCli.RunAsync(
            "docker",
            ["ps", "-a", "--filter", stack.ServerFilter, "--format", "{{.Names}} {{.Label \"loadbalancer.server\"}} {{.Label \"loadbalancer.group\"}}"],
            ComposeStack.CommandTimeout)).EnsureSuccess("docker ps").Output;
        return [.. listed.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Order(StringComparer.Ordinal)];
    }
}
