using System.Text;
using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using static LoadBalancer.Tests.Admin.AdminCalls;

namespace LoadBalancer.Tests.Admin;

/// <summary>The contract's success shapes and every refused input, through a running proxy (loopback, no key).</summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class AdminApiTests
{
    private const string TooManyToAdd = "<Error> Length of hostname list is more than newly added instances";
    private const string TooManyToRemove = "<Error> Length of hostname list is more than removable instances";

    [Fact]
    public async Task Rep_lists_the_servers_in_the_ring_in_the_assignment_shape()
    {
        await using var proxy = await StartProxyAsync(3);
        using var client = proxy.CreateClient();

        using var response = await client.SendAsync(Rep());
        var body = await response.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("application/json; charset=utf-8", response.Content.Headers.ContentType!.ToString());
        AssertJson("""{"message":{"N":3,"replicas":["server1","server2","server3"]},"status":"successful"}""", body);
    }

    [Fact]
    public async Task Rm_by_name_answers_the_new_ring_and_rep_agrees()
    {
        await using var proxy = await StartProxyAsync(3);
        using var client = proxy.CreateClient();

        var (status, body) = await SendAsync(client, Remove("""{"n":1,"hostnames":["server3"]}"""));

        Assert.Equal(HttpStatusCode.OK, status);
        AssertJson("""{"message":{"N":2,"replicas":["server1","server2"]},"status":"successful"}""", body);
        AssertJson(Replicas("server1", "server2"), (await SendAsync(client, Rep())).Body);
    }

    [Fact]
    public async Task Add_brings_a_removed_server_back_by_name()
    {
        await using var proxy = await StartProxyAsync(3);
        using var client = proxy.CreateClient();
        await SendAsync(client, Remove("""{"n":1,"hostnames":["server2"]}"""));

        var (status, body) = await SendAsync(client, Add("""{"n":1,"hostnames":["server2"]}"""));

        Assert.Equal(HttpStatusCode.OK, status);
        AssertJson("""{"message":{"N":3,"replicas":["server1","server2","server3"]},"status":"successful"}""", body);
    }

    [Fact]
    public async Task Add_takes_a_known_inactive_name_and_a_new_address_named_after_its_authority()
    {
        await using var proxy = await StartProxyAsync(4);
        using var client = proxy.CreateClient();
        await SendAsync(client, Remove("""{"n":1,"hostnames":["server4"]}"""));

        var (status, body) = await SendAsync(client, Add("""{"n":2,"hostnames":["server4","http://127.0.0.1:6001"]}"""));

        Assert.Equal(HttpStatusCode.OK, status);
        AssertJson(Replicas("127.0.0.1:6001", "server1", "server2", "server3", "server4"), body);

        // The new server can leave and come back by its name or its address.
        AssertJson(Replicas("server1", "server2", "server3", "server4"), (await SendAsync(client, Remove("""{"n":1,"hostnames":["127.0.0.1:6001"]}"""))).Body);
        AssertJson(Replicas("127.0.0.1:6001", "server1", "server2", "server3", "server4"), (await SendAsync(client, Add("""{"n":1,"hostnames":["http://127.0.0.1:6001/"]}"""))).Body);
    }

    [Fact]
    public async Task Add_without_names_brings_back_that_many_inactive_servers_in_name_order()
    {
        await using var proxy = await StartProxyAsync(4);
        using var client = proxy.CreateClient();
        await SendAsync(client, Remove("""{"n":3,"hostnames":["server2","server3","server4"]}"""));

        var (status, body) = await SendAsync(client, Add("""{"n":2}"""));

        Assert.Equal(HttpStatusCode.OK, status);
        AssertJson(Replicas("server1", "server2", "server3"), body);
    }

    [Fact]
    public async Task Add_of_an_address_of_a_known_server_is_that_server()
    {
        await using var proxy = await StartProxyAsync(2);
        using var client = proxy.CreateClient();
        await SendAsync(client, Remove("""{"n":1,"hostnames":["server2"]}"""));

        var (status, body) = await SendAsync(client, Add("""{"n":1,"hostnames":["http://127.0.0.1:40002"]}"""));

        Assert.Equal(HttpStatusCode.OK, status);
        AssertJson(Replicas("server1", "server2"), body);
    }

    [Fact]
    public async Task Rm_chooses_the_rest_at_random_from_the_injected_generator()
    {
        var outcomes = new HashSet<string>();
        for (var seed = 1; seed <= 8; seed++)
        {
            var first = await RemoveWithSeedAsync(seed);
            Assert.Equal(first, await RemoveWithSeedAsync(seed));
            outcomes.Add(first);
        }

        // Named server5 always goes, plus two of server1..server4; different seeds pick different pairs.
        Assert.All(outcomes, outcome => Assert.DoesNotContain("server5", outcome, StringComparison.Ordinal));
        Assert.True(outcomes.Count > 1, string.Join(" | ", outcomes));

        static async Task<string> RemoveWithSeedAsync(int seed)
        {
            await using var proxy = await StartProxyAsync(5, seed: seed);
            using var client = proxy.CreateClient();
            var (status, body) = await SendAsync(client, Remove("""{"n":3,"hostnames":["server5"]}"""));
            Assert.Equal(HttpStatusCode.OK, status);
            var replicas = System.Text.Json.Nodes.JsonNode.Parse(body)!["message"]!["replicas"]!.AsArray();
            Assert.Equal(2, replicas.Count);
            return body;
        }
    }

    public static TheoryData<string, string, int, string> RefusedChanges => new()
    {
        // The assignment's own errors.
        { "/add", """{"n":1,"hostnames":["server1","server2"]}""", 400, TooManyToAdd },
        { "/rm", """{"n":1,"hostnames":["server1","server2"]}""", 400, TooManyToRemove },

        // n missing, zero, negative, not an integer, over the maximum.
        { "/add", """{"hostnames":["server1"]}""", 400, "<Error> 'n' is required: the number of instances" },
        { "/rm", """{"n":null}""", 400, "<Error> 'n' is required: the number of instances" },
        { "/add", """{"n":0}""", 400, "<Error> 'n' must be an integer from 1 to 64, got 0" },
        { "/rm", """{"n":-2}""", 400, "<Error> 'n' must be an integer from 1 to 64, got -2" },
        { "/rm", """{"n":65}""", 400, "<Error> 'n' must be an integer from 1 to 64, got 65" },
        { "/rm", """{"n":1.5}""", 400, "<Error> 'n' must be an integer" },
        { "/add", """{"n":"2"}""", 400, "<Error> 'n' must be an integer" },
        { "/add", """{"n":true}""", 400, "<Error> 'n' must be an integer" },
        { "/add", """{"n":99999999999}""", 400, "<Error> 'n' must be an integer" },

        // Malformed JSON, wrong shapes and types, unknown and repeated fields.
        { "/add", """{"n":1,""", 400, "<Error> The body is not valid JSON (line 1, byte 7)" },
        { "/rm", "", 400, "<Error> The body is not valid JSON (line 1, byte 1)" },
        { "/rm", """{"n":1} {}""", 400, "<Error> The body is not valid JSON (line 1, byte 9)" },
        { "/add", """[{"n":1}]""", 400, """<Error> The body must be a JSON object such as {"n":1,"hostnames":["server1"]}""" },
        { "/rm", """{"n":1,"hostnames":"server1"}""", 400, "<Error> 'hostnames' must be a list of strings" },
        { "/rm", """{"n":1,"hostnames":[1]}""", 400, "<Error> 'hostnames' must be a list of strings" },
        { "/add", """{"n":1,"replicas":[]}""", 400, "<Error> Unknown field 'replicas': only 'n' and 'hostnames' are accepted" },
        { "/add", """{"N":1}""", 400, "<Error> Unknown field 'N': only 'n' and 'hostnames' are accepted" },
        { "/rm", """{"n":1,"n":2}""", 400, "<Error> Field 'n' is given twice" },

        // Hostnames: empty, duplicated, unknown, in the wrong state, not an address.
        { "/rm", """{"n":1,"hostnames":[null]}""", 400, "<Error> Each hostname must be a non-empty string of at most 2048 characters" },
        { "/add", """{"n":1,"hostnames":[" "]}""", 400, "<Error> Each hostname must be a non-empty string of at most 2048 characters" },
        { "/rm", """{"n":2,"hostnames":["server1","server1"]}""", 400, "<Error> Hostname 'server1' is given twice" },
        { "/rm", """{"n":1,"hostnames":["server9"]}""", 404, "<Error> Unknown server 'server9'" },
        { "/add", """{"n":1,"hostnames":["server9"]}""", 404, "<Error> Unknown server 'server9': service discovery does not list it, it was never added, and this proxy cannot start servers (Provisioning:Engine is None); give its http(s) address to add a new server" },
        { "/add", """{"n":1,"hostnames":["server1"]}""", 409, "<Error> Server 'server1' is already in the ring" },
        { "/add", """{"n":1,"hostnames":["http://127.0.0.1:40001"]}""", 409, "<Error> Server 'http://127.0.0.1:40001' is already in the ring" },
        { "/add", """{"n":1,"hostnames":["ftp://files.example"]}""", 400, "<Error> 'ftp://files.example' is neither a server name nor an absolute http(s) address" },
        { "/add", """{"n":1,"hostnames":["127.0.0.1:6001"]}""", 404, "<Error> Unknown server '127.0.0.1:6001': service discovery does not list it, it was never added, and this proxy cannot start servers (Provisioning:Engine is None); give its http(s) address to add a new server" },
        { "/add", """{"n":1,"hostnames":["/servers/4"]}""", 400, "<Error> '/servers/4' is neither a server name nor an absolute http(s) address" },
        { "/add", """{"n":1,"hostnames":["http://user:pw@127.0.0.1:6001"]}""", 400, "<Error> 'http://user:pw@127.0.0.1:6001' is not a server address: use scheme://host[:port][/path] without user, query or fragment" },
        { "/add", """{"n":1,"hostnames":["http://127.0.0.1:6001/?x=1"]}""", 400, "<Error> 'http://127.0.0.1:6001/?x=1' is not a server address: use scheme://host[:port][/path] without user, query or fragment" },

        // More than there is.
        { "/rm", """{"n":3}""", 409, "<Error> Cannot remove 3 instance(s): the ring has 3 and at least one must stay" },
        { "/rm", """{"n":5,"hostnames":["server1"]}""", 409, "<Error> Cannot remove 5 instance(s): the ring has 3 and at least one must stay" },
        { "/add", """{"n":2,"hostnames":["http://127.0.0.1:6001"]}""", 400, "<Error> Only 1 of 2 new instances could be added: the proxy knows 0 inactive server(s) besides those named and cannot start servers (Provisioning:Engine is None); name new servers by their http(s) address" },
    };

    [Theory]
    [MemberData(nameof(RefusedChanges))]
    public async Task A_refused_change_answers_its_status_and_message_and_leaves_the_ring_unchanged(string path, string json, int status, string message)
    {
        await using var proxy = await StartProxyAsync(3);
        using var client = proxy.CreateClient();
        var method = path == "/add" ? HttpMethod.Post : HttpMethod.Delete;

        var (actualStatus, body) = await SendAsync(client, Build(method, path, json));

        Assert.Equal(status, (int)actualStatus);
        AssertJson(Failure(message), body);
        AssertJson(Replicas("server1", "server2", "server3"), (await SendAsync(client, Rep())).Body);
    }

    [Fact]
    public async Task Rm_of_a_server_removed_already_is_a_conflict()
    {
        await using var proxy = await StartProxyAsync(3);
        using var client = proxy.CreateClient();
        await SendAsync(client, Remove("""{"n":1,"hostnames":["server2"]}"""));

        var (status, body) = await SendAsync(client, Remove("""{"n":1,"hostnames":["server2"]}"""));

        Assert.Equal(HttpStatusCode.Conflict, status);
        AssertJson(Failure("<Error> Server 'server2' is not in the ring (removed already)"), body);
    }

    [Fact]
    public async Task Errors_are_written_with_the_angle_brackets_as_they_are()
    {
        await using var proxy = await StartProxyAsync(3);
        using var client = proxy.CreateClient();

        var (_, body) = await SendAsync(client, Add("""{"n":1,"hostnames":["server1","server2"]}"""));

        Assert.Equal("""{"message":"<Error> Length of hostname list is more than newly added instances","status":"failure"}""", body);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData("application/json; charset=utf-16")]
    public async Task A_body_that_is_not_json_is_refused_with_415(string contentType)
    {
        await using var proxy = await StartProxyAsync(3);
        using var client = proxy.CreateClient();

        var (status, body) = await SendAsync(client, Build(HttpMethod.Delete, "/rm", """{"n":1}""", contentType: contentType));

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
        AssertJson(Failure($"<Error> Content-Type must be application/json (UTF-8), got '{contentType}'"), body);
        AssertJson(Replicas("server1", "server2", "server3"), (await SendAsync(client, Rep())).Body);
    }

    [Fact]
    public async Task A_missing_content_type_is_refused_with_415()
    {
        await using var proxy = await StartProxyAsync(3);
        using var client = proxy.CreateClient();
        var request = new HttpRequestMessage(HttpMethod.Delete, "/rm") { Content = new ByteArrayContent("""{"n":1}"""u8.ToArray()) };

        var (status, body) = await SendAsync(client, request);

        Assert.Equal(HttpStatusCode.UnsupportedMediaType, status);
        AssertJson(Failure("<Error> Content-Type must be application/json (UTF-8), got ''"), body);
    }

    [Fact]
    public async Task A_json_suffix_media_type_is_accepted()
    {
        await using var proxy = await StartProxyAsync(3);
        using var client = proxy.CreateClient();

        var (status, _) = await SendAsync(client, Build(HttpMethod.Delete, "/rm", """{"n":1,"hostnames":["server1"]}""", contentType: "application/vnd.lb+json; charset=UTF-8"));

        Assert.Equal(HttpStatusCode.OK, status);
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_body_over_the_limit_is_refused_with_413_whether_or_not_its_length_is_announced(bool announced)
    {
        await using var proxy = await StartProxyAsync(3, new Dictionary<string, string?> { ["Admin:MaxBodyBytes"] = "1024" });
        using var client = proxy.CreateClient();
        var json = $"{{\"n\":1,\"hostnames\":[\"server1\"],\"pad\":\"{new string('x', 2000)}\"}}";
        var request = Build(HttpMethod.Delete, "/rm", json);
        if (!announced)
        {
            // A stream of unknown length goes out chunked, with no Content-Length to check up front.
            request.Content = new StreamContent(new NonSeekableStream(Encoding.UTF8.GetBytes(json)));
            request.Content.Headers.ContentType = new("application/json");
        }

        var (status, body) = await SendAsync(client, request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, status);
        AssertJson(Failure("<Error> The body is larger than 1024 bytes"), body);
        AssertJson(Replicas("server1", "server2", "server3"), (await SendAsync(client, Rep())).Body);
    }

    [Theory]
    [InlineData("POST", "/rep", "GET")]
    [InlineData("GET", "/add", "POST")]
    [InlineData("PUT", "/rm", "DELETE")]
    public async Task A_wrong_method_gets_405_with_allow_and_is_not_forwarded(string method, string path, string allowed)
    {
        await using var proxy = await StartProxyAsync(3);
        using var client = proxy.CreateClient();

        using var response = await client.SendAsync(Build(new HttpMethod(method), path, """{"n":1}"""));

        Assert.Equal(HttpStatusCode.MethodNotAllowed, response.StatusCode);
        Assert.Equal(allowed, Assert.Single(response.Content.Headers.Allow));
        Assert.False(response.Headers.Contains(ProxyRequestHandler.ServerNameHeader));
        AssertJson(Failure($"<Error> {path} accepts {allowed} only, not {method}"), await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task Admin_paths_are_never_forwarded_but_deeper_paths_are()
    {
        await using var backend = await TestHost.StartBackendAsync(context => context.Response.WriteAsync($"server saw {context.Request.Path}"));
        await using var proxy = await TestHost.StartProxyAsync(new Dictionary<string, Uri> { ["server1"] = backend.Address });
        using var client = proxy.CreateClient();

        foreach (var path in new[] { "/rep", "/REP", "/rep/" })
        {
            using var response = await client.GetAsync(path);
            Assert.False(response.Headers.Contains(ProxyRequestHandler.ServerNameHeader));
            AssertJson(Replicas("server1"), await response.Content.ReadAsStringAsync());
        }

        using var deeper = await client.GetAsync("/rep/history");
        Assert.Equal("server1", Assert.Single(deeper.Headers.GetValues(ProxyRequestHandler.ServerNameHeader)));
        Assert.Equal("server saw /rep/history", await deeper.Content.ReadAsStringAsync());
    }

    /// <summary>A stream whose length is unknown, so HttpClient sends it chunked.</summary>
    private sealed class NonSeekableStream(byte[] data) : MemoryStream(data)
    {
        public override bool CanSeek => false;
    }
}
