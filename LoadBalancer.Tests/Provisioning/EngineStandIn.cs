using System.Text.Json.Nodes;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace LoadBalancer.Tests.Provisioning;

/// <summary>
/// The AppHost's provisioning API (LoadBalancer.AppHost/Provisioning/ProvisioningApi.cs) as a test host on 127.0.0.1,
/// over real LoadBalancer.Server hosts that it starts and stops itself: what the proxy sees of an engine, without
/// Aspire. With <see cref="NeverHealthy"/>, a start gives up as the AppHost does when a server does not come up.
/// </summary>
internal sealed class EngineStandIn : IAsyncDisposable
{
    public const string Key = "engine-key-0123456789";

    private readonly Lock _gate = new();
    private readonly Dictionary<string, TestHost> _servers = new(StringComparer.Ordinal);
    private readonly HashSet<string> _unlisted = new(StringComparer.Ordinal);
    private TaskCompletionSource _changed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private long _version;
    private TestHost? _api;

    /// <summary>When set, every start fails with the AppHost's 504 after stopping what it started.</summary>
    public bool NeverHealthy { get; set; }

    /// <summary>When set, servers it starts run but are left off its list (an engine whose list lags behind its starts).</summary>
    public bool Unlisted { get; set; }

    /// <summary>The API's address.</summary>
    public Uri Address => _api!.Address;

    /// <summary>How many start and stop calls arrived.</summary>
    public int Calls { get; private set; }

    /// <summary>The servers running now.</summary>
    public IReadOnlyCollection<string> Running
    {
        get
        {
            lock (_gate)
            {
                return _servers.Keys.Order(StringComparer.Ordinal).ToArray();
            }
        }
    }

    public static async Task<EngineStandIn> StartAsync(params string[] servers)
    {
        var engine = new EngineStandIn();
        foreach (var name in servers)
        {
            engine._servers[name] = await TestHost.StartServerAsync(name);
        }

        engine._api = await TestHost.StartAsync(_ => { }, app =>
        {
            app.Use(async (context, next) =>
            {
                if (context.Request.Headers.Authorization != $"Bearer {Key}")
                {
                    context.Response.StatusCode = 401;
                    return;
                }

                await next(context);
            });
            app.MapGet("/servers", engine.ListAsync);
            app.MapPost("/servers/start", (Func<HttpContext, Task<IResult>>)engine.StartServersAsync);
            app.MapPost("/servers/stop", (Func<HttpContext, Task<IResult>>)engine.StopServersAsync);
        });
        return engine;
    }

    /// <summary>The proxy settings that point a proxy at this engine.</summary>
    public Dictionary<string, string?> ProxySettings() => new()
    {
        ["Provisioning:Engine"] = "AppHost",
        ["Provisioning:Address"] = Address.ToString(),
        ["Provisioning:Key"] = Key,
        ["Provisioning:DrainTime"] = "00:00:00.200",
        ["Admin:ApiKey"] = Admin.AdminCalls.Key,
    };

    private async Task<IResult> ListAsync(long? after)
    {
        Task changed;
        lock (_gate)
        {
            changed = after is { } version && version >= _version ? _changed.Task : Task.CompletedTask;
        }

        await Task.WhenAny(changed, Task.Delay(TimeSpan.FromSeconds(5)));
        return Results.Json(List());
    }

    private async Task<IResult> StartServersAsync(HttpContext context)
    {
        var body = (await JsonNode.ParseAsync(context.Request.Body))!;
        var names = body["names"]!.AsArray().Select(n => (string)n!).ToList();
        var count = (int)body["count"]!;
        Calls++;
        lock (_gate)
        {
            if (names.FirstOrDefault(_servers.ContainsKey) is { } taken)
            {
                return Failure(409, $"<Error> Server '{taken}' already exists");
            }
        }

        for (var k = 1; names.Count < count; k++)
        {
            if (!_servers.ContainsKey($"server{k}") && !names.Contains($"server{k}"))
            {
                names.Add($"server{k}");
            }
        }

        if (NeverHealthy)
        {
            return Failure(504, $"<Error> Server(s) {string.Join(", ", names)} did not become healthy (not ready within 1 s); every server this call started was stopped again");
        }

        foreach (var name in names)
        {
            var server = await TestHost.StartServerAsync(name);
            lock (_gate)
            {
                _servers[name] = server;
                if (Unlisted)
                {
                    _unlisted.Add(name);
                }
            }
        }

        Changed();
        return Results.Json(new { changed = names });
    }

    private async Task<IResult> StopServersAsync(HttpContext context)
    {
        var body = (await JsonNode.ParseAsync(context.Request.Body))!;
        var names = body["names"]!.AsArray().Select(n => (string)n!).ToList();
        Calls++;
        var stopped = new List<TestHost>();
        lock (_gate)
        {
            if (names.FirstOrDefault(name => !_servers.ContainsKey(name)) is { } unknown)
            {
                return Failure(404, $"<Error> Unknown server '{unknown}'");
            }

            foreach (var name in names)
            {
                stopped.Add(_servers[name]);
                _servers.Remove(name);
            }
        }

        Changed();
        await Task.Delay((int)body["drainMs"]!);
        foreach (var server in stopped)
        {
            await server.DisposeAsync();
        }

        return Results.Json(new { changed = names });
    }

    private object List()
    {
        lock (_gate)
        {
            return new
            {
                version = _version,
                free = 10,
                servers = _servers.Where(s => !_unlisted.Contains(s.Key)).Select(s => new { name = s.Key, http = s.Value.Address, h2c = (Uri?)null }).ToArray(),
            };
        }
    }

    private void Changed()
    {
        lock (_gate)
        {
            _version++;
            var changed = _changed;
            _changed = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            changed.SetResult();
        }
    }

    private static IResult Failure(int status, string message) => Results.Json(new { message, status = "failure" }, statusCode: status);

    public async ValueTask DisposeAsync()
    {
        if (_api is not null)
        {
            await _api.DisposeAsync();
        }

        foreach (var server in _servers.Values.ToArray())
        {
            await server.DisposeAsync();
        }
    }
}
