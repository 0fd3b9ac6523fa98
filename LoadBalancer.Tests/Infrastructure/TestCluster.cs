namespace LoadBalancer.Tests.Infrastructure;

/// <summary>Real servers <c>server1</c>…<c>serverN</c> and a proxy routing to them, all on 127.0.0.1.</summary>
public sealed class TestCluster : IAsyncDisposable
{
    private TestCluster(TestHost[] servers, TestHost proxy)
    {
        Servers = servers;
        Proxy = proxy;
    }

    public IReadOnlyList<TestHost> Servers { get; }

    public TestHost Proxy { get; }

    public static async Task<TestCluster> StartAsync(int servers, IDictionary<string, string?>? proxySettings = null)
    {
        var started = new TestHost[servers];
        for (var i = 0; i < servers; i++)
        {
            started[i] = await TestHost.StartServerAsync($"{i + 1}");
        }

        var proxy = await TestHost.StartProxyAsync(
            started.Select((server, i) => KeyValuePair.Create($"server{i + 1}", server.Address)), proxySettings);
        return new TestCluster(started, proxy);
    }

    public async ValueTask DisposeAsync()
    {
        await Proxy.DisposeAsync();
        foreach (var server in Servers)
        {
            await server.DisposeAsync();
        }
    }
}
