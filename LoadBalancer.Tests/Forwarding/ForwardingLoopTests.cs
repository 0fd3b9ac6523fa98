using System.Net.NetworkInformation;
using System.Net.Sockets;
using System.Text.Json;
using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Tests.Admin;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static LoadBalancer.Tests.Admin.AdminCalls;
using static LoadBalancer.Tests.Infrastructure.ProxySettings;

namespace LoadBalancer.Tests.Forwarding;

/// <summary>
/// The proxy never becomes its own server: <c>/add</c> refuses its own endpoints (in every form that reaches them) and
/// port 0; a discovered or saved server at its own endpoint is left out of the ring and logged.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class ForwardingLoopTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("0.0.0.0")]
    [InlineData("[::]")]
    public async Task Add_refuses_every_form_of_the_proxys_own_endpoint_with_400(string bind)
    {
        if (bind == "[::]" && !Socket.OSSupportsIPv6)
        {
            return;
        }

        await using var backend = await TestHost.StartServerAsync("1");
        await using var proxy = await TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["server1"] = backend.Address },
            WithoutProbes(("urls", $"http://{bind}:0")));
        var listener = proxy.Address.ToString().TrimEnd('/');
        var port = proxy.Address.Port;
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };

        var own = new List<string>
        {
            $"http://127.0.0.1:{port}",
            $"http://localhost:{port}",
            $"http://LocalHost:{port}/some/path",
            $"https://127.0.0.1:{port}",
            $"http://[::ffff:127.0.0.1]:{port}",
            $"http://0.0.0.0:{port}",
        };
        if (bind != "127.0.0.1")
        {
            // Listening on every address: the machine's own addresses and name reach it too.
            own.Add($"http://[::1]:{port}");
            own.Add($"http://{System.Net.Dns.GetHostName()}:{port}");
            own.AddRange(MachineAddresses().Select(address => $"http://{(address.AddressFamily == AddressFamily.InterNetworkV6 ? $"[{address}]" : address)}:{port}"));
        }

        foreach (var hostname in own)
        {
            var (status, body) = await SendAsync(client, Add($$"""{"n":1,"hostnames":["{{hostname}}"]}"""));

            Assert.True(status == HttpStatusCode.BadRequest, $"{hostname}: {status} {body}");
            AssertJson(Failure($"<Error> '{hostname}' is this proxy's own address (it listens on {listener}): forwarding there would loop"), body);
        }

        // Nothing was added.
        AssertJson(Replicas("server1"), (await SendAsync(client, Rep())).Body);
    }

    [Theory]
    [InlineData("http://127.0.0.1:0")]
    [InlineData("http://server9:0")]
    public async Task Add_refuses_port_0_with_400(string hostname)
    {
        await using var proxy = await AdminCalls.StartProxyAsync(1);
        using var client = proxy.CreateClient();

        var (status, body) = await SendAsync(client, Add($$"""{"n":1,"hostnames":["{{hostname}}"]}"""));

        Assert.Equal(HttpStatusCode.BadRequest, status);
        AssertJson(Failure($"<Error> '{hostname}' has port 0, which no server can be reached on"), body);
    }

    [Fact]
    public async Task Add_still_takes_another_server_on_the_same_machine()
    {
        await using var other = await TestHost.StartServerAsync("2");
        await using var proxy = await TestHost.StartProxyAsync(new Dictionary<string, Uri>(), WithoutProbes(("urls", "http://0.0.0.0:0")));
        using var client = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{proxy.Address.Port}") };
        var hostname = $"http://127.0.0.1:{other.Address.Port}";

        var (status, body) = await SendAsync(client, Add($$"""{"n":1,"hostnames":["{{hostname}}"]}"""));

        Assert.Equal(HttpStatusCode.OK, status);
        AssertJson(Replicas($"127.0.0.1:{other.Address.Port}"), body);
        using var response = await client.GetAsync("/home?id=1");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal($"127.0.0.1:{other.Address.Port}", ProxyProbe.ServerOf(response));
    }

    [Fact]
    public async Task A_discovered_server_at_the_proxys_own_endpoint_is_left_out_and_logged()
    {
        var logs = new LogCollector();
        var port = Ports.Free();
        await using var backend = await TestHost.StartServerAsync("1");
        await using var proxy = await TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["self"] = new($"http://localhost:{port}"), ["server1"] = backend.Address },
            WithoutProbes(("urls", $"http://127.0.0.1:{port}")),
            services => services.AddSingleton<ILoggerProvider>(logs));
        using var client = proxy.CreateClient();

        // Checked before any traffic: with the server in, a request would loop.
        AssertJson(Replicas("server1"), (await SendAsync(client, Rep())).Body);
        Assert.Contains(logs.Entries, e => e.EventId == 220 && e.Level == LogLevel.Warning
            && e.Message == $"Server self at http://localhost:{port}/ is this proxy itself (it listens on http://127.0.0.1:{port}) and is left out of the ring: forwarding there would loop");
        for (var id = 0; id < 20; id++)
        {
            using var response = await client.GetAsync($"/home?id={id}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("server1", ProxyProbe.ServerOf(response));
        }
    }

    [Fact]
    public async Task A_saved_server_at_the_proxys_own_endpoint_is_left_out_and_logged()
    {
        var logs = new LogCollector();
        var directory = Directory.CreateTempSubdirectory("lb-loop-").FullName;
        try
        {
            var port = Ports.Free();
            var statePath = Path.Combine(directory, "membership.json");
            await File.WriteAllTextAsync(statePath, JsonSerializer.Serialize(new
            {
                version = 1,
                added = new Dictionary<string, string> { [$"127.0.0.1:{port}"] = $"http://127.0.0.1:{port}/" },
                removed = Array.Empty<string>(),
            }));
            await using var backend = await TestHost.StartServerAsync("1");
            await using var proxy = await TestHost.StartProxyAsync(
                new Dictionary<string, Uri> { ["server1"] = backend.Address },
                WithoutProbes(("urls", $"http://127.0.0.1:{port}"), ("Admin:StateFile", statePath)),
                services => services.AddSingleton<ILoggerProvider>(logs));
            using var client = proxy.CreateClient();

            AssertJson(Replicas("server1"), (await SendAsync(client, Rep())).Body);
            Assert.Contains(logs.Entries, e => e.EventId == 220 && e.Message.StartsWith($"Server 127.0.0.1:{port} at http://127.0.0.1:{port}/ is this proxy itself", StringComparison.Ordinal));
            using var response = await client.GetAsync("/home?id=1");
            Assert.Equal("server1", ProxyProbe.ServerOf(response));
        }
        finally
        {
            Directory.Delete(directory, recursive: true);
        }
    }

    [Fact]
    public void An_address_is_not_own_before_the_server_listens_or_on_another_port()
    {
        // The unit behind the integration tests: read at call time, so an unstarted server owns nothing.
        var server = new Microsoft.AspNetCore.Hosting.Server.Features.ServerAddressesFeature();
        var features = new Microsoft.AspNetCore.Http.Features.FeatureCollection();
        features.Set<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>(server);
        var own = new OwnAddresses(new FeatureServer(features));

        Assert.False(own.IsOwn(new Uri("http://127.0.0.1:5000"), out _));
        server.Addresses.Add("http://[::]:5000");
        Assert.True(own.IsOwn(new Uri("http://127.0.0.1:5000"), out var listener));
        Assert.Equal("http://[::]:5000", listener);
        Assert.False(own.IsOwn(new Uri("http://127.0.0.1:5001"), out _));
        Assert.False(own.IsOwn(new Uri("http://example.com:5000"), out _));
    }

    private static IEnumerable<IPAddress> MachineAddresses() =>
        NetworkInterface.GetAllNetworkInterfaces()
            .SelectMany(nic => nic.GetIPProperties().UnicastAddresses)
            .Select(unicast => unicast.Address)
            .Where(address => !IPAddress.IsLoopback(address) && !address.IsIPv6LinkLocal);

    private sealed class FeatureServer(Microsoft.AspNetCore.Http.Features.IFeatureCollection features) : Microsoft.AspNetCore.Hosting.Server.IServer
    {
        public Microsoft.AspNetCore.Http.Features.IFeatureCollection Features => features;

        public void Dispose()
        {
        }

        public Task StartAsync<TContext>(Microsoft.AspNetCore.Hosting.Server.IHttpApplication<TContext> application, CancellationToken cancellationToken)
            where TContext : notnull => Task.CompletedTask;

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;
    }
}
