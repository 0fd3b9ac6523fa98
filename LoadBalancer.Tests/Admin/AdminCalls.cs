using System.Net.Http.Headers;
using System.Text;
using System.Text.Json.Nodes;
using LoadBalancer.Proxy.Admin;
using LoadBalancer.Proxy.Common;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;

namespace LoadBalancer.Tests.Admin;

/// <summary>Builds admin requests and checks admin answers.</summary>
internal static class AdminCalls
{
    public const string Key = "test-admin-key-0123456789abcdef";

    public static HttpRequestMessage Rep(string? key = null) => Build(HttpMethod.Get, "/rep", null, key);

    public static HttpRequestMessage Add(string json, string? key = null) => Build(HttpMethod.Post, "/add", json, key);

    public static HttpRequestMessage Remove(string json, string? key = null) => Build(HttpMethod.Delete, "/rm", json, key);

    public static HttpRequestMessage Build(HttpMethod method, string path, string? json, string? key = null, string contentType = "application/json")
    {
        var request = new HttpRequestMessage(method, path);
        if (json is not null)
        {
            request.Content = new StringContent(json, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        }

        if (key is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        return request;
    }

    /// <summary>Sends <paramref name="request"/> and returns the status and the raw body.</summary>
    public static async Task<(HttpStatusCode Status, string Body)> SendAsync(HttpClient client, HttpRequestMessage request)
    {
        using (request)
        {
            using var response = await client.SendAsync(request);
            return (response.StatusCode, await response.Content.ReadAsStringAsync());
        }
    }

    /// <summary>The reply <c>{"message":{"N":…,"replicas":[…]},"status":"successful"}</c> as text.</summary>
    public static string Replicas(params string[] names) =>
        $"{{\"message\":{{\"N\":{names.Length},\"replicas\":[{string.Join(",", names.Select(n => $"\"{n}\""))}]}},\"status\":\"successful\"}}";

    /// <summary>The reply <c>{"message":"…","status":"failure"}</c> as a JSON node.</summary>
    public static JsonNode Failure(string message) => new JsonObject { ["message"] = message, ["status"] = "failure" };

    /// <summary>Asserts that <paramref name="actual"/> parses to exactly <paramref name="expected"/>.</summary>
    public static void AssertJson(string expected, string actual) => AssertJson(JsonNode.Parse(expected)!, actual);

    public static void AssertJson(JsonNode expected, string actual)
    {
        var parsed = JsonNode.Parse(actual);
        Assert.True(JsonNode.DeepEquals(expected, parsed), $"Expected {expected.ToJsonString()}, got {actual}");
    }

    /// <summary>Starts a proxy whose servers are placeholders (no server needs to run for admin calls).</summary>
    public static Task<TestHost> StartProxyAsync(int servers, IDictionary<string, string?>? settings = null, int seed = 42) =>
        TestHost.StartProxyAsync(
            Enumerable.Range(1, servers).Select(i => KeyValuePair.Create($"server{i}", new Uri($"http://127.0.0.1:{40000 + i}"))),
            settings,
            services => services.AddSingleton<IRandomFactory>(new SeededRandomFactory(seed)));
}

/// <summary>Deterministic random choices: every operation gets a generator from the same seed.</summary>
internal sealed class SeededRandomFactory(int seed) : IRandomFactory
{
    public Random Create() => new(seed);
}
