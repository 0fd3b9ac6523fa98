using System.Net;
using LoadBalancer.Proxy.Admin;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using static LoadBalancer.Tests.Admin.AdminCalls;

namespace LoadBalancer.Tests.Admin;

[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class AdminAccessTests
{
    private static readonly Dictionary<string, string?> WithKey = new() { ["Admin:ApiKey"] = Key };

    [Fact]
    public async Task With_a_key_a_call_without_authorization_gets_401_with_a_bearer_challenge()
    {
        await using var proxy = await StartProxyAsync(3, WithKey);
        using var client = proxy.CreateClient();

        using var response = await client.SendAsync(Remove("""{"n":1,"hostnames":["server1"]}"""));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
        AssertJson(Failure("<Error> The admin API needs 'Authorization: Bearer <key>'"), await response.Content.ReadAsStringAsync());
        AssertJson(Replicas("server1", "server2", "server3"), (await SendAsync(client, Rep(Key))).Body);
    }

    [Fact]
    public async Task With_a_key_a_wrong_key_gets_401_and_changes_nothing()
    {
        await using var proxy = await StartProxyAsync(3, WithKey);
        using var client = proxy.CreateClient();

        foreach (var wrong in new[] { "wrong", Key + "x", Key[..^1], Key.ToUpperInvariant() })
        {
            using var response = await client.SendAsync(Remove("""{"n":1,"hostnames":["server1"]}""", wrong));
            Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
            Assert.Contains("invalid_token", response.Headers.WwwAuthenticate.ToString(), StringComparison.Ordinal);
            AssertJson(Failure("<Error> The admin key is not valid"), await response.Content.ReadAsStringAsync());
        }

        AssertJson(Replicas("server1", "server2", "server3"), (await SendAsync(client, Rep(Key))).Body);
    }

    [Fact]
    public async Task With_a_key_the_right_key_is_accepted_on_every_endpoint()
    {
        await using var proxy = await StartProxyAsync(3, WithKey);
        using var client = proxy.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await SendAsync(client, Rep(Key))).Status);
        Assert.Equal(HttpStatusCode.OK, (await SendAsync(client, Remove("""{"n":1,"hostnames":["server1"]}""", Key))).Status);
        var (status, body) = await SendAsync(client, Add("""{"n":1,"hostnames":["server1"]}""", Key));
        Assert.Equal(HttpStatusCode.OK, status);
        AssertJson(Replicas("server1", "server2", "server3"), body);
    }

    [Fact]
    public async Task With_a_key_a_basic_scheme_is_not_accepted()
    {
        await using var proxy = await StartProxyAsync(3, WithKey);
        using var client = proxy.CreateClient();
        var request = Rep();
        request.Headers.Authorization = new("Basic", Key);

        var (status, _) = await SendAsync(client, request);

        Assert.Equal(HttpStatusCode.Unauthorized, status);
    }

    [Fact]
    public async Task Without_a_key_loopback_callers_are_accepted_and_others_get_403()
    {
        // Kestrel on 127.0.0.1 sees every test caller as loopback; this filter plays the remote address a header names.
        await using var proxy = await TestHost.StartProxyAsync(
            [KeyValuePair.Create("server1", new Uri("http://127.0.0.1:40001")), KeyValuePair.Create("server2", new Uri("http://127.0.0.1:40002"))],
            services: services => services.AddSingleton<IStartupFilter, RemoteAddressFromHeader>());
        using var client = proxy.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await SendAsync(client, Rep())).Status);

        foreach (var remote in new[] { "10.1.2.3", "192.168.0.7", "2001:db8::1" })
        {
            var request = Remove("""{"n":1,"hostnames":["server1"]}""");
            request.Headers.Add(RemoteAddressFromHeader.Header, remote);
            var (status, body) = await SendAsync(client, request);
            Assert.Equal(HttpStatusCode.Forbidden, status);
            AssertJson(Failure("<Error> No admin key is configured (Admin:ApiKey), so the admin API accepts loopback callers only"), body);
        }

        AssertJson(Replicas("server1", "server2"), (await SendAsync(client, Rep())).Body);
    }

    [Theory]
    [InlineData("127.0.0.1", true)]
    [InlineData("127.8.9.10", true)]
    [InlineData("::1", true)]
    [InlineData("::ffff:127.0.0.1", true)]
    [InlineData("10.0.0.5", false)]
    [InlineData("::ffff:10.0.0.5", false)]
    [InlineData("2001:db8::1", false)]
    public void Without_a_key_only_loopback_addresses_pass(string address, bool allowed)
    {
        var access = new AdminAccess(Options.Create(new AdminOptions()));
        var context = new DefaultHttpContext();
        context.Connection.RemoteIpAddress = IPAddress.Parse(address);

        var failure = Record.Exception(() => access.Demand(context));

        if (allowed)
        {
            Assert.Null(failure);
        }
        else
        {
            Assert.Equal(403, Assert.IsType<AdminFailureException>(failure).StatusCode);
        }
    }

    [Fact]
    public void Without_a_key_an_unknown_caller_address_is_refused()
    {
        var access = new AdminAccess(Options.Create(new AdminOptions()));

        var failure = Assert.Throws<AdminFailureException>(() => access.Demand(new DefaultHttpContext()));

        Assert.Equal(403, failure.StatusCode);
    }

    [Fact]
    public void With_a_key_a_remote_caller_with_the_key_passes_and_loopback_without_it_does_not()
    {
        var access = new AdminAccess(Options.Create(new AdminOptions { ApiKey = Key }));
        var remote = new DefaultHttpContext();
        remote.Connection.RemoteIpAddress = IPAddress.Parse("10.0.0.5");
        remote.Request.Headers.Authorization = $"bearer {Key}";
        var local = new DefaultHttpContext();
        local.Connection.RemoteIpAddress = IPAddress.Loopback;

        access.Demand(remote);
        Assert.Equal(401, Assert.Throws<AdminFailureException>(() => access.Demand(local)).StatusCode);
    }

    [Theory]
    [InlineData("short")]
    [InlineData("a key with spaces inside it")]
    public async Task A_weak_key_stops_the_proxy_at_start(string key)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() =>
            StartProxyAsync(1, new Dictionary<string, string?> { ["Admin:ApiKey"] = key }));

        Assert.Contains("Admin:ApiKey must be at least 16 characters", error.Message, StringComparison.Ordinal);
    }

    /// <summary>Sets the connection's remote address from a request header, ahead of everything else.</summary>
    private sealed class RemoteAddressFromHeader : IStartupFilter
    {
        public const string Header = "X-Test-Remote-Address";

        public Action<IApplicationBuilder> Configure(Action<IApplicationBuilder> next) => app =>
        {
            app.Use((context, nextMiddleware) =>
            {
                if (context.Request.Headers.TryGetValue(Header, out var value))
                {
                    context.Connection.RemoteIpAddress = IPAddress.Parse(value.ToString());
                }

                return nextMiddleware(context);
            });
            next(app);
        };
    }
}
