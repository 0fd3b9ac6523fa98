using LoadBalancer.Proxy;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Proxy.Membership;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;

namespace LoadBalancer.Tests.Membership;

[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class DiscoveryMembershipTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lb-discovery-").FullName;

    private string SettingsPath => Path.Combine(_directory, "services.json");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private void WriteServices(params (string Name, TestHost Host)[] servers)
    {
        var services = string.Join(",", servers.Select(s => $"\"{s.Name}\": {{ \"http\": [ \"{s.Host.Address}\" ] }}"));
        // Write then move: the watcher never sees a half-written file.
        var temp = SettingsPath + ".tmp";
        File.WriteAllText(temp, $"{{ \"Services\": {{ {services} }} }}");
        File.Move(temp, SettingsPath, overwrite: true);
    }

    private static string[] Servers(TestHost proxy) =>
        proxy.App.Services.GetRequiredService<TableState>().Current!.Table.Servers.Select(m => m.Name).ToArray();

    private static async Task WaitForServersAsync(TestHost proxy, params string[] expected)
    {
        // Bounded wait for the file watcher and the resolver; the assertion is on membership, not on time.
        for (var i = 0; i < 150 && !Servers(proxy).SequenceEqual(expected); i++)
        {
            await Task.Delay(100);
        }

        Assert.Equal(expected, Servers(proxy));
    }

    [Fact]
    public async Task Membership_follows_the_services_configuration_when_it_changes()
    {
        await using var s1 = await TestHost.StartServerAsync("1");
        await using var s2 = await TestHost.StartServerAsync("2");
        WriteServices(("server1", s1));

        await using var proxy = await TestHost.StartAsync(
            builder =>
            {
                builder.Configuration.AddJsonFile(SettingsPath, optional: false, reloadOnChange: true);
                builder.AddLoadBalancerProxy();
            },
            app => app.MapLoadBalancerProxy(),
            appSettings: TestHost.ProxyAppSettings);
        using var client = proxy.CreateClient();
        Assert.Equal(["server1"], Servers(proxy));

        // A server appears in discovery: it joins the ring and takes its share of keys.
        WriteServices(("server1", s1), ("server2", s2));
        await WaitForServersAsync(proxy, "server1", "server2");
        var owners = new HashSet<string>();
        for (var id = 0; id < 200; id++)
        {
            using var response = await client.GetAsync($"/home?id={id}");
            owners.Add(Assert.Single(response.Headers.GetValues(ProxyRequestHandler.ServerNameHeader)));
        }

        Assert.Equal(["server1", "server2"], owners.Order());

        // It disappears again: only server2's keys move, all to server1.
        WriteServices(("server1", s1));
        await WaitForServersAsync(proxy, "server1");
        using var last = await client.GetAsync("/home?id=1");
        Assert.Equal("server1", Assert.Single(last.Headers.GetValues(ProxyRequestHandler.ServerNameHeader)));
    }

    [Fact]
    public async Task With_an_endpoint_name_each_service_is_reached_at_that_named_endpoint()
    {
        await using var named = await TestHost.StartServerAsync("named");
        var unused = ProxyProbe.RefusedAddress();
        await using var proxy = await TestHost.StartProxyAsync(
            [],
            new Dictionary<string, string?>
            {
                ["Services:server1:http:0"] = unused.ToString(),
                ["Services:server1:h2c:0"] = named.Address.ToString(),
                ["Discovery:EndpointName"] = "h2c",
            });
        using var client = proxy.CreateClient();

        Assert.Equal(named.Address, ProxyProbe.Server(proxy, "server1").Address);
        var body = await client.GetFromJsonAsync<System.Text.Json.JsonElement>("/home?id=1");
        Assert.Equal("Hello from Server: named", body.GetProperty("message").GetString());
    }
}
