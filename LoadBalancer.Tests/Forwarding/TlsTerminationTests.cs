using System.Net.Security;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace LoadBalancer.Tests.Forwarding;

/// <summary>The proxy terminates TLS from Kestrel's configuration and forwards in clear, saying the client used https.</summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class TlsTerminationTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lb-tls-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    public async Task An_https_endpoint_from_configuration_serves_clients_over_tls_and_the_server_sees_https(int clientHttpVersion)
    {
        using var certificate = SelfSigned();
        var pfx = Path.Combine(_directory, "proxy.pfx");
        await File.WriteAllBytesAsync(pfx, certificate.Export(X509ContentType.Pfx, "test-password"));
        string? proto = null;
        await using var echo = await TestHost.StartBackendAsync(context =>
        {
            if (context.Request.Path == "/home")
            {
                proto = context.Request.Headers["X-Forwarded-Proto"];
            }

            return context.Response.WriteAsync("over tls");
        });
        await using var proxy = await TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["echo"] = echo.Address },
            new Dictionary<string, string?>
            {
                ["Kestrel:Endpoints:Https:Url"] = "https://127.0.0.1:0",
                ["Kestrel:Endpoints:Https:Certificate:Path"] = pfx,
                ["Kestrel:Endpoints:Https:Certificate:Password"] = "test-password",
            });
        Assert.Equal("https", proxy.Address.Scheme);
        using var handler = new SocketsHttpHandler
        {
            SslOptions = new SslClientAuthenticationOptions
            {
                // Trust exactly this certificate: the test proves the proxy presents it.
                RemoteCertificateValidationCallback = (_, presented, _, _) => presented is not null && presented.GetCertHashString() == certificate.GetCertHashString(),
            },
        };
        using var client = new HttpClient(handler) { BaseAddress = proxy.Address };
        using var request = new HttpRequestMessage(HttpMethod.Get, "/home?id=1")
        {
            Version = new Version(clientHttpVersion, 0),
            VersionPolicy = HttpVersionPolicy.RequestVersionExact,
        };

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(new Version(clientHttpVersion, clientHttpVersion == 1 ? 1 : 0), response.Version);
        Assert.Equal("over tls", await response.Content.ReadAsStringAsync());
        Assert.Equal("https", proto);
    }

    private static X509Certificate2 SelfSigned()
    {
        using var key = RSA.Create(2048);
        var request = new CertificateRequest("CN=127.0.0.1", key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        var names = new SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));
        return request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
    }
}
