using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Hashing;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Balancing;

[Trait(TestCategories.Name, TestCategories.Unit)]
public sealed class MaglevTableTests
{
    private static readonly IHashFunction Hash = new XxHash3Function();

    [Theory]
    [InlineData(3, 65537)]
    [InlineData(100, 65537)]
    [InlineData(7, 101)]
    public void Every_server_owns_its_share_of_entries_give_or_take_one(int servers, int size)
    {
        var table = MaglevTable.Create(KeySpace.Servers(servers), Hash, size);
        var counts = new int[servers];
        foreach (var entry in table.Entries)
        {
            counts[entry]++;
        }

        Assert.Equal(size, table.Size);
        Assert.InRange(counts.Max() - counts.Min(), 0, 1);
    }

    [Fact]
    public void Weight_two_owns_twice_the_entries()
    {
        BackendServer[] servers =
        [
            new("server1", new Uri("http://127.0.0.1:6001"), weight: 2),
            new("server2", new Uri("http://127.0.0.1:6002")),
            new("server3", new Uri("http://127.0.0.1:6003")),
        ];
        var table = MaglevTable.Create(servers, Hash, 65537);
        var heavy = table.Entries.ToArray().Count(e => e == 0);

        Assert.InRange(heavy, 65537 / 2 - 2, 65537 / 2 + 2);
    }

    [Theory]
    [InlineData(1)]
    [InlineData(65536)]
    [InlineData(100)]
    public void A_size_that_is_not_prime_is_refused(int size)
    {
        var error = Assert.Throws<ArgumentException>(() => MaglevTable.Create(KeySpace.Servers(3), Hash, size));
        Assert.Contains("prime", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Excluded_and_unavailable_servers_are_walked_past_and_nobody_left_gives_minus_one()
    {
        var servers = KeySpace.Servers(3);
        var table = MaglevTable.Create(servers, Hash, 65537);
        var first = table.Pick(12345, []);
        var second = table.Pick(12345, [first]);
        var third = table.Pick(12345, [first, second]);

        Assert.Equal(3, new[] { first, second, third }.Distinct().Count());
        Assert.Equal(-1, table.Pick(12345, [first, second, third]));

        foreach (var server in servers)
        {
            server.SetUnavailable(UnavailableReasons.HealthProbe, true);
        }

        Assert.Equal(-1, table.Pick(12345, []));
    }

    [Fact]
    public void An_empty_table_picks_nobody()
    {
        Assert.Equal(-1, MaglevTable.Create([], Hash).Pick(42, []));
    }
}
