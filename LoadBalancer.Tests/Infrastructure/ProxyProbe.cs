using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Proxy.Membership;
using Microsoft.Extensions.DependencyInjection;

namespace LoadBalancer.Tests.Infrastructure;

/// <summary>Looks into a running test proxy: which server owns a key, a server's live state.</summary>
public static class ProxyProbe
{
    /// <summary>The ring server that owns <paramref name="key"/> when every server is available.</summary>
    public static string OwnerOf(TestHost proxy, string key)
    {
        var snapshot = proxy.App.Services.GetRequiredService<TableState>().Current!;
        var index = snapshot.Table.Pick(snapshot.Hash.HashKey(key), []);
        return snapshot.Table.Servers[index].Name;
    }

    /// <summary>A key whose owner is <paramref name="server"/>.</summary>
    public static string KeyOwnedBy(TestHost proxy, string server, int skip = 0) =>
        Keys.Random(2000).Where(key => OwnerOf(proxy, key) == server).Skip(skip).First();

    /// <summary>The live <see cref="BackendServer"/> named <paramref name="name"/>.</summary>
    public static BackendServer Server(TestHost proxy, string name) =>
        proxy.App.Services.GetRequiredService<TableState>().Current!.Table.Servers.Single(m => m.Name == name);

    /// <summary>The server named in the response's <c>X-Upstream-Server</c> header.</summary>
    public static string ServerOf(HttpResponseMessage response) =>
        Assert.Single(response.Headers.GetValues(ProxyRequestHandler.ServerNameHeader));

    /// <summary>An address on 127.0.0.1 where nothing listens: connections are refused.</summary>
    public static Uri RefusedAddress() => new($"http://127.0.0.1:{Ports.Free()}/");
}
