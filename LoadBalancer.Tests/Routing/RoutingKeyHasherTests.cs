using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Proxy.Hashing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using LoadBalancer.Proxy.Routing;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Routing;

[Trait(TestCategories.Name, TestCategories.Unit)]
public sealed class RoutingKeyHasherTests
{
    private static readonly IHashFunction Hash = new XxHash3Function();

    private static ulong HashOf(HttpContext context, RoutingOptions? options = null) =>
        new RoutingKeyHasher(Options.Create(options ?? new RoutingOptions())).Hash(context, Hash);

    private static DefaultHttpContext Context(string? query = null, string? header = null, string? ip = null)
    {
        var context = new DefaultHttpContext();
        context.Request.QueryString = query is null ? QueryString.Empty : new QueryString(query);
        if (header is not null)
        {
            context.Request.Headers["X-Request-Id"] = header;
        }

        context.Connection.RemoteIpAddress = ip is null ? null : IPAddress.Parse(ip);
        context.Connection.Id = "connection-1";
        return context;
    }

    [Theory]
    [InlineData("?id=42", "42")]
    [InlineData("?a=1&id=42&b=2", "42")]
    [InlineData("?ID=42", "42")]
    [InlineData("?idx=1&id=42", "42")]
    [InlineData("?id=&id=42", "42")]
    [InlineData("?id=a%20b", "a b")]
    [InlineData("?id=a+b", "a b")]
    public void Query_parameter_is_the_key(string query, string key) =>
        Assert.Equal(Hash.HashKey(key), HashOf(Context(query, header: "other", ip: "10.0.0.1")));

    [Fact]
    public void Header_is_used_when_the_query_has_no_key() =>
        Assert.Equal(Hash.HashKey("req-7"), HashOf(Context("?x=1", header: "req-7", ip: "10.0.0.1")));

    [Fact]
    public void Client_address_is_the_last_resort() =>
        Assert.Equal(Hash.HashKey("10.0.0.1"), HashOf(Context(ip: "10.0.0.1")));

    [Fact]
    public void Connection_id_is_used_when_no_source_yields_a_key() =>
        Assert.Equal(Hash.HashKey("connection-1"), HashOf(Context()));

    [Fact]
    public void Configured_order_is_respected()
    {
        var options = new RoutingOptions { KeySources = [RoutingKeySource.Header, RoutingKeySource.Query] };
        Assert.Equal(Hash.HashKey("req-7"), HashOf(Context("?id=42", header: "req-7"), options));
    }

    [Fact]
    public void Configured_parameter_and_header_names_are_read()
    {
        var options = new RoutingOptions { QueryParameter = "user", Header = "X-User", KeySources = [RoutingKeySource.Header, RoutingKeySource.Query] };
        var context = Context("?user=alice&id=42");
        Assert.Equal(Hash.HashKey("alice"), HashOf(context, options));
        context.Request.Headers["X-User"] = "bob";
        Assert.Equal(Hash.HashKey("bob"), HashOf(context, options));
    }

    [Theory]
    [InlineData("session=abc", "abc")]
    [InlineData("theme=dark; session=abc; lang=en", "abc")]
    [InlineData("theme=dark;session=abc", "abc")]
    [InlineData("session=\"abc\"", "abc")]
    [InlineData("session=; session=abc", "abc")]
    [InlineData("xsession=1; session=abc", "abc")]
    public void The_session_cookie_is_the_key(string cookies, string key)
    {
        var context = Context("?id=42", ip: "10.0.0.1");
        context.Request.Headers.Cookie = cookies;
        var options = new RoutingOptions { KeySources = [RoutingKeySource.Cookie, RoutingKeySource.Query] };

        Assert.Equal(Hash.HashKey(key), HashOf(context, options));
    }

    [Theory]
    [InlineData(null)]
    [InlineData("theme=dark")]
    [InlineData("Session=abc")] // cookie names are case-sensitive
    [InlineData("session=")]
    [InlineData("session")]
    public void Without_the_cookie_the_next_source_decides(string? cookies)
    {
        var context = Context("?id=42", ip: "10.0.0.1");
        if (cookies is not null)
        {
            context.Request.Headers.Cookie = cookies;
        }

        var options = new RoutingOptions { KeySources = [RoutingKeySource.Cookie, RoutingKeySource.Query] };

        Assert.Equal(Hash.HashKey("42"), HashOf(context, options));
    }

    [Fact]
    public void The_configured_cookie_is_read_across_several_cookie_headers()
    {
        var context = Context(ip: "10.0.0.1");
        context.Request.Headers.Cookie = new Microsoft.Extensions.Primitives.StringValues(["theme=dark", "JSESSIONID=node-7"]);
        var options = new RoutingOptions { Cookie = "JSESSIONID", KeySources = [RoutingKeySource.Cookie, RoutingKeySource.ClientAddress] };

        Assert.Equal(Hash.HashKey("node-7"), HashOf(context, options));
    }
}
