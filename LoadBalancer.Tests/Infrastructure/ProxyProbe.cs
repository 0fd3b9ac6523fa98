using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Proxy.Membership;
using LoadBalancer.Proxy.Ring;
using Microsoft.Extensions.DependencyInjection;

namespace LoadBalancer.Tests.Infrastructure;

/// <summary>Looks into a running test proxy: which member owns a key, a member's live state.</summary>
public static class ProxyProbe
{
    /// <summary>The ring member that owns <paramref name="key"/> when every member is available.</summary>
    public static string OwnerOf(TestHost proxy, string key)
    {
        var snapshot = proxy.App.Services.GetRequiredService<RingState>().Current!;
        var index = snapshot.Table.Pick(snapshot.Hash.HashKey(key), []);
        return snapshot.Table.Members[index].Name;
    }

    /// <summary>A key whose owner is <paramref name="member"/>.</summary>
    public static string KeyOwnedBy(TestHost proxy, string member, int skip = 0) =>
        Keys.Random(2000).Where(key => OwnerOf(proxy, key) == member).Skip(skip).First();

    /// <summary>The live <see cref="Upstream"/> named <paramref name="name"/>.</summary>
    public static Upstream Member(TestHost proxy, string name) =>
        proxy.App.Services.GetRequiredService<RingState>().Current!.Table.Members.Single(m => m.Name == name);

    /// <summary>The member named in the response's <c>X-Upstream-Server</c> header.</summary>
    public static string UpstreamOf(HttpResponseMessage response) =>
        Assert.Single(response.Headers.GetValues(ProxyRequestHandler.UpstreamHeader));

    /// <summary>An address on 127.0.0.1 where nothing listens: connections are refused.</summary>
    public static Uri RefusedAddress() => new($"http://127.0.0.1:{Ports.Free()}/");
}
