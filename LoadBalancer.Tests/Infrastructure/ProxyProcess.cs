using System.Collections.Concurrent;
using System.Diagnostics;

namespace LoadBalancer.Tests.Infrastructure;

/// <summary>
/// The real proxy (LoadBalancer.Proxy.dll from the test output) as a process of its own, for what cannot be tested in
/// the test process: a descriptor limit of its own. Listens on 127.0.0.1; disposing kills it by its pid.
/// </summary>
public sealed class ProxyProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly string _directory;

    private ProxyProcess(Process process, string directory, Uri address)
    {
        _process = process;
        _directory = directory;
        Address = address;
        _process.OutputDataReceived += (_, line) => Keep(line.Data);
        _process.ErrorDataReceived += (_, line) => Keep(line.Data);
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public Uri Address { get; }

    /// <summary>Every line the proxy wrote to stdout and stderr (the console logger's two lines per entry).</summary>
    public ConcurrentQueue<string> Output { get; } = new();

    public bool HasExited => _process.HasExited;

    public string OutputText => string.Join('\n', Output);

    /// <summary>
    /// Starts the proxy under bash's <c>ulimit -n</c> (soft and hard descriptor limits, or the soft one alone when
    /// <paramref name="hardLimit"/> is given) with <paramref name="servers"/> and <paramref name="settings"/> as
    /// environment, in a directory of its own holding the proxy's appsettings.json; returns once it answers /health.
    /// </summary>
    public static async Task<ProxyProcess> StartAsync(
        int descriptorLimit,
        IEnumerable<KeyValuePair<string, Uri>> servers,
        IDictionary<string, string>? settings = null,
        int? hardLimit = null)
    {
        var directory = Directory.CreateTempSubdirectory("proxy-process-").FullName;
        File.Copy(Path.Combine(AppContext.BaseDirectory, TestHost.ProxyAppSettings), Path.Combine(directory, "appsettings.json"));
        var address = new Uri($"http://127.0.0.1:{Ports.Free()}/");
        var dotnet = Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";
        var limits = hardLimit is { } hard ? $"ulimit -Sn {descriptorLimit} && ulimit -Hn {hard}" : $"ulimit -n {descriptorLimit}";
        var start = new ProcessStartInfo("bash", ["-c", $"{limits} && exec \"$0\" \"$1\"", dotnet, Path.Combine(AppContext.BaseDirectory, "LoadBalancer.Proxy.dll")])
        {
            WorkingDirectory = directory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.Environment["ASPNETCORE_URLS"] = address.ToString().TrimEnd('/');
        foreach (var (name, server) in servers)
        {
            start.Environment[$"Services__{name}__http__0"] = server.ToString();
        }

        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }

        var proxy = new ProxyProcess(Process.Start(start)!, directory, address);
        try
        {
            await proxy.WaitUntilHealthyAsync(TimeSpan.FromSeconds(60));
            return proxy;
        }
        catch
        {
            await proxy.DisposeAsync();
            throw;
        }
    }

    public async ValueTask DisposeAsync()
    {
        try
        {
            if (!_process.HasExited)
            {
                _process.Kill();
                await _process.WaitForExitAsync().WaitAsync(TimeSpan.FromSeconds(10));
            }
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
        finally
        {
            _process.Dispose();
            Directory.Delete(_directory, recursive: true);
        }
    }

    private async Task WaitUntilHealthyAsync(TimeSpan limit)
    {
        using var client = new HttpClient { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = DateTime.UtcNow + limit;
        while (true)
        {
            if (_process.HasExited)
            {
                // The redirected output is complete only once the process has been waited for.
                await _process.WaitForExitAsync();
                throw new InvalidOperationException($"The proxy exited with {_process.ExitCode}:\n{OutputText}");
            }

            try
            {
                using var response = await client.GetAsync("/health");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }
            catch (TaskCanceledException)
            {
                // Not answering yet.
            }

            if (DateTime.UtcNow > deadline)
            {
                throw new TimeoutException($"The proxy did not become healthy in {limit}:\n{OutputText}");
            }

            await Task.Delay(200);
        }
    }

    private void Keep(string? line)
    {
        if (line is not null)
        {
            Output.Enqueue(line);
        }
    }
}
