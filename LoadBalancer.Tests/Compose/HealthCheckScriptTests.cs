using System.Diagnostics;
using System.Net.Sockets;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Compose;

/// <summary>
/// docker/healthcheck.sh, the images' HEALTHCHECK and compose's probe (the aspnet image has no curl), run here
/// with bash against a real server on 127.0.0.1.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class HealthCheckScriptTests
{
    private static readonly string Script = Path.Combine(AppHostManifest.RepositoryRoot, "docker", "healthcheck.sh");

    [Fact]
    public async Task A_server_answering_its_heartbeat_is_healthy()
    {
        await using var server = await TestHost.StartServerAsync("1");

        Assert.Equal(0, await ProbeAsync(server.Address.Port, "/heartbeat"));
    }

    [Fact]
    public async Task A_path_answering_an_error_status_is_unhealthy()
    {
        await using var server = await TestHost.StartServerAsync("1");

        // The server answers 400 for paths it does not know.
        Assert.NotEqual(0, await ProbeAsync(server.Address.Port, "/no-such-path"));
    }

    [Fact]
    public async Task A_port_nobody_listens_on_is_unhealthy()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();

        Assert.NotEqual(0, await ProbeAsync(port, "/alive"));
    }

    private static async Task<int> ProbeAsync(int port, string path)
    {
        var start = new ProcessStartInfo("bash", [Script, path])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
        };
        start.Environment["HTTP_PORTS"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var process = Process.Start(start)!;
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        // Drained so a chatty failure cannot block the script on a full pipe.
        await Task.WhenAll(process.StandardOutput.ReadToEndAsync(cts.Token), process.StandardError.ReadToEndAsync(cts.Token));
        await process.WaitForExitAsync(cts.Token);
        return process.ExitCode;
    }
}
