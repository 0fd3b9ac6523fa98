using System.Text;
using System.Text.Json;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace LoadBalancer.Tests.Forwarding;

/// <summary>Kestrel's limits from configuration apply to forwarded requests, and a request over them gets a JSON error.</summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class RequestLimitsTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_body_over_Kestrels_configured_limit_gets_413_with_a_json_error(bool chunked)
    {
        await using var echo = await TestHost.StartBackendAsync(async context =>
        {
            using var reader = new StreamReader(context.Request.Body);
            await context.Response.WriteAsync($"got {(await reader.ReadToEndAsync()).Length}");
        });
        await using var proxy = await TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["echo"] = echo.Address },
            new Dictionary<string, string?> { ["Kestrel:Limits:MaxRequestBodySize"] = "1000", ["Health:Enabled"] = "false" });
        using var client = proxy.CreateClient();

        // Under the limit: forwarded whole.
        using (var small = await client.PostAsync("/upload?id=1", new StringContent(new string('x', 900), Encoding.UTF8, "text/plain")))
        {
            Assert.Equal("got 900", await small.Content.ReadAsStringAsync());
        }

        var content = new StringContent(new string('x', 5000), Encoding.UTF8, "text/plain");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/upload?id=1") { Content = content };
        if (chunked)
        {
            content.Headers.ContentLength = null;
            request.Headers.TransferEncodingChunked = true;
        }

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal("application/json", response.Content.Headers.ContentType!.MediaType);
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal("failure", body.GetProperty("status").GetString());
        // A declared length is refused before forwarding, a chunked body once it grows over the limit: the same text.
        Assert.Equal("<Error> The request body is larger than the limit of 1000 bytes", body.GetProperty("message").GetString());
    }
}
