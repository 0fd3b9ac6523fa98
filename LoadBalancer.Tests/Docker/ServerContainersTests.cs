using Docker.DotNet.Models;
using LoadBalancer.Proxy.Docker;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Docker;

/// <summary>Which containers are a stack's member servers, at which address, and how new ones are named (no engine).</summary>
[Trait(TestCategories.Name, TestCategories.Unit)]
public sealed class ServerContainersTests
{
    [Fact]
    public void Members_are_the_stacks_labelled_containers_not_draining_at_their_address_on_the_network()
    {
        ContainerListResponse[] healthy =
        [
            Container("b2", "/p_server1_1", new() { ["loadbalancer.server"] = "server1", ["com.docker.compose.project"] = "p" }, ("p_default", "10.0.0.2"), ("other", "10.9.0.2")),
            Container("a1", "/p-S5", new() { ["loadbalancer.server"] = "S5", ["loadbalancer.group"] = "p" }, ("p_default", "10.0.0.5")),
            Container("c3", "/p-S6.draining", new() { ["loadbalancer.server"] = "S6", ["loadbalancer.group"] = "p" }, ("p_default", "10.0.0.6")),
            Container("d4", "/q_server1_1", new() { ["loadbalancer.server"] = "server1", ["com.docker.compose.project"] = "q" }, ("q_default", "10.1.0.2")),
            // Its own group label wins over the compose project it was started in.
            Container("e5", "/x", new() { ["loadbalancer.server"] = "S7", ["loadbalancer.group"] = "q", ["com.docker.compose.project"] = "p" }, ("p_default", "10.0.0.7")),
            Container("f6", "/p-S8", new() { ["loadbalancer.server"] = "S8", ["loadbalancer.group"] = "p" }, ("elsewhere", "10.5.0.8")),
            // Two containers claim S5: the lower id (a1) wins on every replica.
            Container("z9", "/p-S5-again", new() { ["loadbalancer.server"] = "S5", ["loadbalancer.group"] = "p" }, ("p_default", "10.0.0.9")),
        ];

        var members = ServerContainers.Members(healthy, "p", "p_default", httpPort: 8080, h2cPort: 8081);

        Assert.Equal(["S5", "server1"], members.Keys);
        Assert.Equal(new DockerMember("S5", "a1", new Uri("http://10.0.0.5:8080/"), new Uri("http://10.0.0.5:8081/")), members["S5"]);
        Assert.Equal(new Uri("http://10.0.0.2:8080/"), members["server1"].Http);
        Assert.Null(ServerContainers.Members(healthy, "p", "p_default", 8080, h2cPort: 0)["S5"].H2c);
    }

    [Fact]
    public void Invented_names_are_the_first_serverK_no_container_and_no_asked_name_has()
    {
        Assert.Equal(["S5", "server2", "server5"], ServerContainers.Names(["server1", "server3", "server4"], ["S5", "server2"], 3));
        Assert.Equal(["server3"], ServerContainers.Names(["server1", "server2"], [], 1));
    }

    [Theory]
    [InlineData("S5", true)]
    [InlineData("server-12", true)]
    [InlineData("-S5", false)]
    [InlineData("S_5", false)]
    [InlineData("S5.draining", false)]
    public void A_ring_name_must_be_a_hostname_so_none_ends_like_a_draining_container(string name, bool valid) =>
        Assert.Equal(valid, ServerContainers.IsValidName(name));

    [Fact]
    public void A_new_server_copies_the_template_without_composes_labels_under_its_own_name()
    {
        var template = new ContainerInspectResponse
        {
            Image = "sha256:abc",
            Config = new Config
            {
                Image = "p_server1",
                Env = ["SERVER_ID=1", "OTEL_SERVICE_NAME=server1", "HTTP_PORTS=8080;8081"],
                Labels = new Dictionary<string, string> { ["com.docker.compose.project"] = "p", ["com.docker.compose.service"] = "server1", ["loadbalancer.server"] = "server1", ["keep"] = "me" },
                Healthcheck = new HealthConfig { Test = ["CMD", "true"], Retries = 3 },
            },
            HostConfig = new HostConfig { RestartPolicy = new RestartPolicy { Name = RestartPolicyKind.UnlessStopped } },
        };

        var spec = ServerContainers.Spec(template, "S5", "p", "p_default", image: null);

        Assert.Equal("p-S5", spec.Name);
        Assert.Equal("S5", spec.Hostname);
        Assert.Equal("sha256:abc", spec.Image);
        Assert.Equal(["HTTP_PORTS=8080;8081", "SERVER_ID=S5", "OTEL_SERVICE_NAME=S5"], spec.Env);
        Assert.Equal(new Dictionary<string, string> { ["keep"] = "me", ["loadbalancer.server"] = "S5", ["loadbalancer.group"] = "p" }, spec.Labels);
        Assert.Same(template.Config.Healthcheck, spec.Healthcheck);
        Assert.Equal(RestartPolicyKind.UnlessStopped, spec.HostConfig.RestartPolicy.Name);
        Assert.Equal(["S5"], spec.NetworkingConfig.EndpointsConfig["p_default"].Aliases);
        Assert.Equal("other:1", ServerContainers.Spec(template, "S5", "p", "p_default", image: "other:1").Image);
    }

    private static ContainerListResponse Container(string id, string name, Dictionary<string, string> labels, params (string Network, string Ip)[] networks) => new()
    {
        ID = id,
        Names = [name],
        Labels = labels,
        NetworkSettings = new SummaryNetworkSettings
        {
            Networks = networks.ToDictionary(n => n.Network, n => new EndpointSettings { IPAddress = n.Ip }),
        },
    };
}
