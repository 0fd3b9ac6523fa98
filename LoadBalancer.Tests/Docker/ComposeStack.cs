using System.Security.Cryptography;
using LoadBalancer.Tests.Compose;
using LoadBalancer.Tests.Infrastructure;
using Xunit.Abstractions;

namespace LoadBalancer.Tests.Docker;

/// <summary>
/// The committed docker-compose.yml (and any overlays, e.g. docker-compose.provisioning.yml) brought up under a
/// project name of its own (so it touches no other stack), with a generated env file: a random admin key, free
/// loopback ports for the proxies and the dashboard. Disposing takes it down with its volumes and built images,
/// whatever the test did before, and first removes the server containers the proxy created (compose does not know
/// them): every container labelled as a server of this project.
/// </summary>
internal sealed class ComposeStack : IAsyncDisposable
{
    public static readonly TimeSpan BuildTimeout = TimeSpan.FromMinutes(10);
    public static readonly TimeSpan CommandTimeout = TimeSpan.FromMinutes(2);

    private readonly ITestOutputHelper _output;
    private readonly DirectoryInfo _directory;
    private bool _down;

    private readonly string[] _files;

    private ComposeStack(ITestOutputHelper output, string[] overlays)
    {
        _output = output;
        _files = [AppHostManifest.CommittedComposePath, .. overlays.Select(o => Path.Combine(AppHostManifest.RepositoryRoot, o))];
        Project = $"lbtest{Guid.NewGuid():N}"[..18];
        // At least the proxy's 16 characters (AdminOptions.MinimumKeyLength); letters and digits only.
        AdminKey = RandomNumberGenerator.GetHexString(32, lowercase: true);
        ProxyPort = Ports.Free();
        DashboardPort = Ports.Free();
        Proxy2Port = Ports.Free();
        _directory = Directory.CreateTempSubdirectory("loadbalancer-compose-");
        File.WriteAllText(EnvFile, $"ADMIN_KEY={AdminKey}\nPROXY_PORT={ProxyPort}\nDASHBOARD_PORT={DashboardPort}\nPROXY2_PORT={Proxy2Port}\n");
    }

    public string Project { get; }

    public string AdminKey { get; }

    public int ProxyPort { get; }

    public int DashboardPort { get; }

    /// <summary>The second proxy replica's port (docker-compose.provisioning.yml's proxy2).</summary>
    public int Proxy2Port { get; }

    /// <summary>The filter that finds the server containers the proxy created for this project.</summary>
    public string ServerFilter => $"label={LoadBalancer.Proxy.Docker.DockerLabels.Group}={Project}";

    private string EnvFile => Path.Combine(_directory.FullName, ".env");

    /// <summary><c>docker-compose up -d --build</c>; on failure the stack is taken down before the error is thrown.</summary>
    public static async Task<ComposeStack> UpAsync(ITestOutputHelper output, params string[] overlays)
    {
        var stack = new ComposeStack(output, overlays);
        try
        {
            var started = DateTime.UtcNow;
            await stack.ComposeAsync(BuildTimeout, "up", "-d", "--build");
            output.WriteLine($"{stack.Project}: up --build took {(DateTime.UtcNow - started).TotalSeconds:0} s (proxy on 127.0.0.1:{stack.ProxyPort}, dashboard on 127.0.0.1:{stack.DashboardPort})");
            return stack;
        }
        catch
        {
            await stack.DisposeAsync();
            throw;
        }
    }

    public HttpClient CreateProxyClient(TimeSpan? timeout = null) => new() { BaseAddress = new Uri($"http://127.0.0.1:{ProxyPort}"), Timeout = timeout ?? TimeSpan.FromSeconds(30) };

    public HttpClient CreateProxy2Client(TimeSpan? timeout = null) => new() { BaseAddress = new Uri($"http://127.0.0.1:{Proxy2Port}"), Timeout = timeout ?? TimeSpan.FromSeconds(30) };

    public HttpClient CreateDashboardClient() => new() { BaseAddress = new Uri($"http://127.0.0.1:{DashboardPort}"), Timeout = TimeSpan.FromSeconds(30) };

    /// <summary>Runs <c>docker-compose</c> for this project; a non-zero exit fails with its output.</summary>
    public Task<DockerCli.Result> ComposeAsync(params string[] arguments) => ComposeAsync(CommandTimeout, arguments);

    public async Task<DockerCli.Result> ComposeAsync(TimeSpan timeout, params string[] arguments) =>
        (await DockerCli.RunAsync(
            "docker-compose",
            [.. _files.SelectMany(file => new[] { "-f", file }), "--env-file", EnvFile, "-p", Project, .. arguments],
            timeout,
            AppHostManifest.RepositoryRoot)).EnsureSuccess($"docker-compose {string.Join(' ', arguments)}");

    /// <summary>The container of <paramref name="service"/>.</summary>
    public async Task<string> ContainerAsync(string service) => (await ComposeAsync("ps", "-q", service)).Output.Trim();

    /// <summary>A field of the container's state, e.g. <c>{{.State.Pid}}</c> or <c>{{.RestartCount}}</c>.</summary>
    public async Task<string> InspectAsync(string service, string format) =>
        (await DockerCli.RunAsync("docker", ["inspect", "-f", format, await ContainerAsync(service)], CommandTimeout))
        .EnsureSuccess($"docker inspect {service}").Output.Trim();

    /// <summary>Waits (bounded) until the proxy answers <c>/health</c> at all.</summary>
    public async Task WaitForProxyAsync(HttpClient client, TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        while (true)
        {
            try
            {
                using var response = await client.GetAsync("/health", cts.Token);
                return;
            }
            catch (HttpRequestException) when (!cts.IsCancellationRequested)
            {
                await Task.Delay(250, cts.Token);
            }
        }
    }

    /// <summary><c>docker-compose down -v</c>, removing the images it built too; once.</summary>
    public async Task DownAsync()
    {
        if (_down)
        {
            return;
        }

        _down = true;
        // The proxy's own containers first: compose would leave them, and its network could not go while they are on it.
        var created = (await DockerCli.RunAsync("docker", ["ps", "-a", "-q", "--filter", ServerFilter], CommandTimeout)).EnsureSuccess("docker ps").Output
            .Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (created.Length > 0)
        {
            (await DockerCli.RunAsync("docker", ["rm", "-f", "-v", .. created], CommandTimeout)).EnsureSuccess("docker rm -f");
        }

        await ComposeAsync("down", "-v", "--rmi", "local", "--remove-orphans", "--timeout", "10");
    }

    /// <summary>What of this project is still there: containers, networks, volumes (by compose's label) and built images.</summary>
    public async Task<IReadOnlyList<string>> LeftoversAsync()
    {
        var label = $"label=com.docker.compose.project={Project}";
        var left = new List<string>();
        foreach (var (kind, arguments) in new (string, string[])[]
        {
            ("container", ["ps", "-a", "-q", "--filter", label]),
            ("server container", ["ps", "-a", "-q", "--filter", ServerFilter]),
            ("network", ["network", "ls", "-q", "--filter", label]),
            ("volume", ["volume", "ls", "-q", "--filter", label]),
            ("image", ["images", "-q", "--filter", $"reference={Project}_*"]),
        })
        {
            var found = (await DockerCli.RunAsync("docker", arguments, CommandTimeout)).EnsureSuccess($"docker {arguments[0]}").Output;
            left.AddRange(found.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(id => $"{kind} {id}"));
        }

        return left;
    }

    /// <summary>The last lines each service logged, for a failure's report.</summary>
    public async Task LogTailAsync()
    {
        try
        {
            _output.WriteLine((await ComposeAsync("logs", "--no-color", "--tail", "30")).Output);
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
            _output.WriteLine($"(no logs: {ex.Message})");
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            await DownAsync();
        }
        catch (Exception ex) when (ex is InvalidOperationException or TimeoutException)
        {
            _output.WriteLine($"{Project}: down failed: {ex.Message}");
        }
        finally
        {
            _directory.Delete(recursive: true);
        }
    }
}
