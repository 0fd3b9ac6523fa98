namespace LoadBalancer.Tests.Infrastructure;

/// <summary>Which server each of a run of ids reaches (X-Upstream-Server), and whether two proxies agree on it.</summary>
internal static class Owners
{
    /// <summary>The server each of <paramref name="ids"/> ids (<paramref name="prefix"/>0 …) reaches through <paramref name="client"/>.</summary>
    public static async Task<string[]> OfAsync(HttpClient client, string prefix, int ids)
    {
        var owners = new string[ids];
        await Parallel.ForEachAsync(Enumerable.Range(0, ids), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (id, ct) =>
        {
            using var response = await client.GetAsync($"/home?id={prefix}{id}", ct);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            owners[id] = Assert.Single(response.Headers.GetValues(LoadBalancer.Proxy.Forwarding.ProxyRequestHandler.ServerNameHeader));
        });
        return owners;
    }

    /// <summary>Asserts that both proxies route every id to the same server within 2 s, and returns the owners.</summary>
    public static async Task<string[]> AgreeAsync(HttpClient one, HttpClient two, string prefix, int ids)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(2);
        while (true)
        {
            var a = await OfAsync(one, prefix, ids);
            var b = await OfAsync(two, prefix, ids);
            if (a.SequenceEqual(b) || DateTime.UtcNow > deadline)
            {
                Assert.Equal(a, b);
                return a;
            }

            await Task.Delay(50);
        }
    }
}
