using System.Text.RegularExpressions;
using Aspire.Hosting.ApplicationModel;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using static LoadBalancer.Tests.Admin.AdminCalls;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>The AppHost with two proxy replicas behind the proxy's port and a pool of five servers.</summary>
public sealed class ProxyReplicasAppHostFixture : AdminAppHostFixture
{
    protected override IEnumerable<string> Arguments => ["LoadBalancer:ProxyReplicas=2", "LoadBalancer:MaxServers=5"];
}

/// <summary>
/// Two proxy replicas under the AppHost, each reached on its own port: after <c>/add</c> or <c>/rm</c> through one,
/// both route every id to the same server within 2 s, since both follow the AppHost's pool.
/// </summary>
[Trait(TestCategories.Name, TestCategories.EndToEnd)]
[Collection(EndToEndCollection.Name)]
public sealed partial class ProxyReplicasEndToEndTests(ProxyReplicasAppHostFixture fixture) : IClassFixture<ProxyReplicasAppHostFixture>
{
    private const int Ids = 1000;

    [Fact]
    public async Task After_add_or_rm_through_one_replica_both_route_every_id_alike()
    {
        var replicas = await ReplicaAddressesAsync();
        Assert.Equal(2, replicas.Count);
        using var one = new HttpClient { BaseAddress = replicas[0], Timeout = TimeSpan.FromMinutes(2) };
        using var two = new HttpClient { BaseAddress = replicas[1], Timeout = TimeSpan.FromMinutes(2) };

        var (status, body) = await SendAsync(one, Add("""{"n":2,"hostnames":["S5","S4"]}""", fixture.AdminKey));
        Assert.Equal(HttpStatusCode.OK, status);
        AssertJson(Replicas("S4", "S5", "server1", "server2", "server3"), body);
        var added = await Owners.AgreeAsync(one, two, "replicas-", Ids);
        Assert.Contains("S5", added);

        (status, _) = await SendAsync(two, Remove("""{"n":1,"hostnames":["S4"]}""", fixture.AdminKey));
        Assert.Equal(HttpStatusCode.OK, status);
        var removed = await Owners.AgreeAsync(one, two, "replicas-", Ids);
        Assert.DoesNotContain("S4", removed);
        Assert.Contains("S5", removed);
    }

    // Each replica's own address, from its "Now listening on" line (DCP's endpoint proxy holds the shared port).
    private async Task<IReadOnlyList<Uri>> ReplicaAddressesAsync()
    {
        var logs = fixture.App.Services.GetRequiredService<ResourceLoggerService>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        using (var watch = new CancellationTokenSource(TimeSpan.FromSeconds(30)))
        {
            await foreach (var update in fixture.App.ResourceNotifications.WatchAsync(watch.Token))
            {
                if (update.Resource.Name == "proxy" && update.Snapshot.State?.Text == KnownResourceStates.Running && ids.Add(update.ResourceId) && ids.Count == 2)
                {
                    break;
                }
            }
        }

        var addresses = new List<Uri>();
        foreach (var id in ids)
        {
            using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await foreach (var batch in logs.WatchAsync(id).WithCancellation(cts.Token))
            {
                var line = batch.Select(l => ListeningLine().Match(l.Content)).FirstOrDefault(m => m.Success);
                if (line is not null)
                {
                    addresses.Add(new Uri(line.Groups[1].Value.Replace("[::]", "127.0.0.1", StringComparison.Ordinal)));
                    break;
                }
            }
        }

        return addresses;
    }

    [GeneratedRegex(@"Now listening on: (http://\S+)")]
    private static partial Regex ListeningLine();
}
