using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Proxy.Membership;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace LoadBalancer.Tests.Balancing;

/// <summary>The algorithm and hash function are chosen in configuration and reach the running proxy.</summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class BalancingConfigurationTests
{
    public static TheoryData<string, string, Type> Choices => new()
    {
        { "Ring", "XxHash3", typeof(HashRing) },
        { "maglev", "Murmur3", typeof(MaglevTable) },
        { "BoundedLoad", "Fnv1a", typeof(BoundedLoadTable) },
        { "Ring", "Assignment", typeof(HashRing) },
    };

    [Theory]
    [MemberData(nameof(Choices))]
    public async Task The_configured_algorithm_and_hash_function_route_requests(string algorithm, string hash, Type table)
    {
        await using var s1 = await TestHost.StartServerAsync("1");
        await using var s2 = await TestHost.StartServerAsync("2");
        // The proxy's own TableState, registered last so it is the one the proxy resolves, lets the test read the table.
        var state = new TableState();
        await using var proxy = await TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["server1"] = s1.Address, ["server2"] = s2.Address },
            new Dictionary<string, string?>
            {
                ["Balancing:Algorithm"] = algorithm,
                ["Balancing:HashFunction"] = hash,
                ["Balancing:MaglevTableSize"] = "10007",
                ["Balancing:BalanceFactor"] = "1.5",
                ["Balancing:BoundedLoadProbe"] = "clockwise",
            },
            services => services.AddSingleton(state));
        var snapshot = state.Current!;
        Assert.IsType(table, snapshot.Table);
        Assert.Equal(hash, snapshot.Hash.Name);
        if (snapshot.Table is MaglevTable maglev)
        {
            Assert.Equal(10007, maglev.Size);
        }

        if (snapshot.Table is BoundedLoadTable bounded)
        {
            Assert.Equal(1.5, bounded.BalanceFactor);
            Assert.Equal(BoundedLoadProbe.Clockwise, bounded.Probe);
        }

        using var client = proxy.CreateClient();
        for (var id = 100_000; id < 100_020; id++)
        {
            var response = await client.GetAsync($"/home?id={id}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var upstream = Assert.Single(response.Headers.GetValues(ProxyRequestHandler.ServerNameHeader));
            var key = id.ToString(System.Globalization.CultureInfo.InvariantCulture);
            Assert.Equal(snapshot.Table.Servers[snapshot.Table.Pick(snapshot.Hash.HashKey(key), [])].Name, upstream);
        }
    }

    [Theory]
    [InlineData("Balancing:MaglevTableSize", "65536", "Balancing:MaglevTableSize is 65536; it must be a prime")]
    [InlineData("Balancing:BalanceFactor", "1", "Balancing:BalanceFactor is 1; it must be greater than 1")]
    [InlineData("Balancing:BoundedLoadProbe", "1", "Balancing:BoundedLoadProbe '1' is unknown; use one of: Clockwise, RandomJump")]
    [InlineData("Balancing:BoundedLoadProbe", "Linear", "Balancing:BoundedLoadProbe 'Linear' is unknown; use one of: Clockwise, RandomJump")]
    public async Task Invalid_new_settings_stop_the_proxy_at_start_with_a_clear_message(string key, string value, string expected)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            TestHost.StartProxyAsync([], new Dictionary<string, string?> { [key] = value }));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
