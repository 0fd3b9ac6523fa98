using System.Net;
using System.Net.Http;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>The HTTP version the proxy speaks to the servers (<see cref="ForwardingOptions.ServerProtocol"/>).</summary>
public enum ServerProtocol
{
    /// <summary>HTTP/1.1 with keep-alive, one request per connection at a time: every server understands it.</summary>
    Http1,

    /// <summary>
    /// HTTP/2: with prior knowledge (h2c) over <c>http://</c>, negotiated by ALPN over <c>https://</c>. Concurrent
    /// requests share one connection per server, so the proxy and the servers make far fewer socket calls per request.
    /// The servers must accept it (Kestrel: an endpoint with <c>Protocols=Http2</c> when it is not TLS).
    /// </summary>
    Http2,
}

/// <summary>The request version and policy that make <see cref="HttpClient"/> speak an <see cref="ServerProtocol"/>.</summary>
public static class ServerProtocolExtensions
{
    /// <summary>The version requests to the servers carry.</summary>
    public static Version RequestVersion(this ServerProtocol protocol) =>
        protocol == ServerProtocol.Http2 ? HttpVersion.Version20 : HttpVersion.Version11;

    /// <summary>
    /// Exact for HTTP/2: that is what makes SocketsHttpHandler use prior knowledge on a cleartext connection instead of
    /// falling back to HTTP/1.1, and a server that cannot speak it fails loudly rather than silently downgrading.
    /// </summary>
    public static HttpVersionPolicy VersionPolicy(this ServerProtocol protocol) =>
        protocol == ServerProtocol.Http2 ? HttpVersionPolicy.RequestVersionExact : HttpVersionPolicy.RequestVersionOrLower;
}
