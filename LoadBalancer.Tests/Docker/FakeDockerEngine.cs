using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using System.Threading.Channels;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace LoadBalancer.Tests.Docker;

/// <summary>
/// The part of the Docker Engine API the proxy's Docker engine uses (list, inspect, create, start, stop, rename,
/// remove, events), as a test host on 127.0.0.1 over containers held in memory: what the proxy sees of a Docker
/// engine, without one. Every container's address is 127.0.0.1, so one real server (the proxy's Docker:HttpPort)
/// answers for all of them. Containers turn healthy when started, unless <see cref="NeverHealthy"/>; with
/// <see cref="Unreachable"/> every call answers 500 and the event streams end, as when the engine is gone.
/// </summary>
internal sealed partial class FakeDockerEngine : IAsyncDisposable
{
    public const string Group = "fakestack";
    public const string Network = "fakestack_default";
    public const string ServerImage = "sha256:fakeserverimage";

    private readonly Lock _gate = new();
    private readonly Dictionary<string, FakeContainer> _containers = new(StringComparer.Ordinal);
    private readonly List<(Channel<byte[]> Events, CancellationTokenSource Ended)> _streams = [];
    private readonly List<string> _calls = [];
    private int _next;
    private TestHost? _api;

    /// <summary>When set, started containers stay "starting" and never turn healthy.</summary>
    public bool NeverHealthy { get; set; }

    /// <summary>When set, starting the container named so fails with 500, as a container whose start Docker refuses.</summary>
    public string? FailStartOf { get; set; }

    /// <summary>The API's address.</summary>
    public Uri Address => _api!.Address;

    /// <summary>The changing calls that arrived ("create S5", "start S5", "rename S5", …), in order.</summary>
    public IReadOnlyList<string> Calls
    {
        get
        {
            lock (_gate)
            {
                return [.. _calls];
            }
        }
    }

    public static async Task<FakeDockerEngine> StartAsync()
    {
        var engine = new FakeDockerEngine();
        engine._api = await TestHost.StartAsync(_ => { }, app => app.Run(engine.HandleAsync));
        return engine;
    }

    /// <summary>The proxy settings that point a proxy at this engine, its servers answered by <paramref name="server"/>.</summary>
    public Dictionary<string, string?> ProxySettings(TestHost server) => new()
    {
        ["Provisioning:Engine"] = "Docker",
        ["Provisioning:DrainTime"] = "00:00:00.100",
        ["Docker:Endpoint"] = Address.ToString(),
        ["Docker:Group"] = Group,
        ["Docker:Network"] = Network,
        ["Docker:HttpPort"] = server.Address.Port.ToString(System.Globalization.CultureInfo.InvariantCulture),
        ["Docker:H2cPort"] = "0",
        ["Docker:RetryDelay"] = "00:00:00.050",
        ["Docker:MaxRetryDelay"] = "00:00:00.200",
        ["Admin:ApiKey"] = Admin.AdminCalls.Key,
    };

    /// <summary>Adds a running, healthy server as compose defines them: compose's labels, the server label, a health check.</summary>
    public string AddComposeServer(string name, string project = Group, bool healthy = true, bool running = true)
    {
        var number = name.TrimStart("server".ToCharArray());
        var container = new FakeContainer(NewId(), $"{project}_{name}_1")
        {
            Image = ServerImage,
            Config = new JsonObject
            {
                ["Hostname"] = "0123abcd",
                ["Image"] = $"{project}_{name}",
                ["Env"] = new JsonArray("PATH=/usr/bin", $"SERVER_ID={number}", $"OTEL_SERVICE_NAME={name}", "HTTP_PORTS=8080;8081"),
                ["Labels"] = new JsonObject
                {
                    ["com.docker.compose.project"] = project,
                    ["com.docker.compose.service"] = name,
                    ["loadbalancer.server"] = name,
                    ["org.opencontainers.image.title"] = "server",
                },
                ["Healthcheck"] = JsonNode.Parse("""{"Test":["CMD","bash","/usr/local/bin/healthcheck.sh","/heartbeat"],"Interval":10000000000,"Timeout":3000000000,"StartPeriod":15000000000,"Retries":3}"""),
            },
            HostConfig = JsonNode.Parse("""{"RestartPolicy":{"Name":"unless-stopped","MaximumRetryCount":0},"NetworkMode":"%NET%"}""".Replace("%NET%", project + "_default"))!.AsObject(),
            NetworkName = project + "_default",
            Running = running,
            Health = healthy ? "healthy" : "starting",
        };
        lock (_gate)
        {
            _containers[container.Id] = container;
        }

        return container.Id;
    }

    /// <summary>The containers now: name → the container.</summary>
    public Dictionary<string, FakeContainer> Containers()
    {
        lock (_gate)
        {
            return _containers.Values.ToDictionary(c => c.Name, StringComparer.Ordinal);
        }
    }

    /// <summary>Whether the engine answers: while false every call answers 500 and open event streams end.</summary>
    public bool Unreachable
    {
        get;
        set
        {
            field = value;
            if (value)
            {
                lock (_gate)
                {
                    foreach (var (_, ended) in _streams)
                    {
                        ended.Cancel();
                    }
                }
            }
        }
    }

    /// <summary>Turns a container's health to <paramref name="health"/>, with its event.</summary>
    public void SetHealth(string name, string health)
    {
        FakeContainer container;
        lock (_gate)
        {
            container = _containers.Values.Single(c => c.Name == name);
            container.Health = health;
        }

        Publish(container, $"health_status: {health}");
    }

    private async Task HandleAsync(HttpContext context)
    {
        var path = VersionPrefix().Replace(context.Request.Path.Value ?? "", "");
        var method = context.Request.Method;
        if (Unreachable)
        {
            await WriteAsync(context, 500, new JsonObject { ["message"] = "the engine is down" });
            return;
        }

        if (path == "/events" && method == "GET")
        {
            await StreamEventsAsync(context);
            return;
        }

        if (path == "/containers/json" && method == "GET")
        {
            await WriteAsync(context, 200, List(context.Request.Query));
            return;
        }

        if (path == "/containers/create" && method == "POST")
        {
            await CreateAsync(context);
            return;
        }

        var match = ContainerPath().Match(path);
        if (!match.Success)
        {
            await WriteAsync(context, 404, new JsonObject { ["message"] = $"page not found: {method} {path}" });
            return;
        }

        FakeContainer? container;
        lock (_gate)
        {
            var key = match.Groups["id"].Value;
            container = _containers.Values.FirstOrDefault(c => c.Id == key || c.Name == key);
        }

        if (container is null)
        {
            await WriteAsync(context, 404, new JsonObject { ["message"] = $"No such container: {match.Groups["id"].Value}" });
            return;
        }

        switch (method, match.Groups["action"].Value)
        {
            case ("GET", "/json"):
                await WriteAsync(context, 200, container.Inspect());
                return;
            case ("POST", "/start") when container.Name == FailStartOf:
                Record("start (refused)", container);
                await WriteAsync(context, 500, new JsonObject { ["message"] = "driver failed programming external connectivity" });
                return;
            case ("POST", "/start"):
                Record("start", container);
                container.Running = true;
                container.Health = NeverHealthy ? "starting" : "healthy";
                Publish(container, "start");
                if (!NeverHealthy)
                {
                    Publish(container, "health_status: healthy");
                }

                break;
            case ("POST", "/stop"):
                Record("stop", container);
                container.Running = false;
                Publish(container, "die");
                break;
            case ("POST", "/rename"):
                Record("rename", container);
                var newName = context.Request.Query["name"].ToString();
                lock (_gate)
                {
                    container.Name = newName;
                }

                Publish(container, "rename");
                break;
            case ("DELETE", ""):
                Record("remove", container);
                lock (_gate)
                {
                    _containers.Remove(container.Id);
                }

                Publish(container, "destroy");
                break;
            default:
                await WriteAsync(context, 404, new JsonObject { ["message"] = $"page not found: {method} {path}" });
                return;
        }

        context.Response.StatusCode = 204;
    }

    private async Task CreateAsync(HttpContext context)
    {
        var body = (await JsonNode.ParseAsync(context.Request.Body))!.AsObject();
        var name = context.Request.Query["name"].ToString();
        FakeContainer container;
        lock (_gate)
        {
            if (_containers.Values.Any(c => c.Name == name))
            {
                _calls.Add($"create {name} (conflict)");
                container = null!;
            }
            else
            {
                var network = body["NetworkingConfig"]?["EndpointsConfig"]?.AsObject().Select(e => e.Key).FirstOrDefault() ?? "bridge";
                container = new FakeContainer(NewId(), name)
                {
                    Image = (string)body["Image"]!,
                    Config = body.DeepClone().AsObject(),
                    HostConfig = body["HostConfig"]?.DeepClone().AsObject() ?? [],
                    NetworkName = network,
                    Aliases = body["NetworkingConfig"]?["EndpointsConfig"]?[network]?["Aliases"]?.AsArray().Select(a => (string)a!).ToArray() ?? [],
                    Created = body,
                };
                _containers[container.Id] = container;
                _calls.Add($"create {name}");
            }
        }

        if (container is null)
        {
            await WriteAsync(context, 409, new JsonObject { ["message"] = $"Conflict. The container name \"/{name}\" is already in use" });
            return;
        }

        Publish(container, "create");
        await WriteAsync(context, 201, new JsonObject { ["Id"] = container.Id, ["Warnings"] = new JsonArray() });
    }

    private JsonArray List(IQueryCollection query)
    {
        var all = query["all"].ToString() is "true" or "1" or "True";
        var filters = query["filters"].ToString() is { Length: > 0 } text ? JsonNode.Parse(text)!.AsObject() : [];
        var labels = filters["label"]?.AsObject().Select(l => l.Key).ToList() ?? [];
        var health = filters["health"]?.AsObject().Select(h => h.Key).ToList() ?? [];
        lock (_gate)
        {
            return [.. _containers.Values
                .Where(c => (all || c.Running) && labels.All(c.HasLabel) && (health.Count == 0 || (c.Running && health.Contains(c.Health))))
                .Select(c => (JsonNode)c.Summary())];
        }
    }

    private async Task StreamEventsAsync(HttpContext context)
    {
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        await context.Response.Body.FlushAsync();
        using var ended = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        // Events are queued and written by this request alone: a publisher never waits on a slow or gone reader.
        var events = Channel.CreateUnbounded<byte[]>(new UnboundedChannelOptions { SingleReader = true });
        lock (_gate)
        {
            _streams.Add((events, ended));
        }

        try
        {
            await foreach (var line in events.Reader.ReadAllAsync(ended.Token))
            {
                await context.Response.Body.WriteAsync(line, ended.Token);
                await context.Response.Body.FlushAsync(ended.Token);
            }
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException or InvalidOperationException)
        {
            // The client left, or the engine "went away".
        }
        finally
        {
            lock (_gate)
            {
                _streams.RemoveAll(s => s.Ended == ended);
            }
        }
    }

    private void Publish(FakeContainer container, string action)
    {
        var labels = container.Labels();
        if (!labels.ContainsKey("loadbalancer.server"))
        {
            return;
        }

        var attributes = new JsonObject { ["name"] = container.Name, ["image"] = container.Image };
        foreach (var (key, value) in labels)
        {
            attributes[key] = value;
        }

        var line = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["status"] = action,
            ["id"] = container.Id,
            ["Type"] = "container",
            ["Action"] = action,
            ["Actor"] = new JsonObject { ["ID"] = container.Id, ["Attributes"] = attributes },
            ["time"] = DateTimeOffset.UtcNow.ToUnixTimeSeconds(),
        }.ToJsonString() + "\n");
        lock (_gate)
        {
            foreach (var (events, _) in _streams)
            {
                events.Writer.TryWrite(line);
            }
        }
    }

    private void Record(string call, FakeContainer container)
    {
        lock (_gate)
        {
            _calls.Add($"{call} {container.Name}");
        }
    }

    private string NewId() => $"{Interlocked.Increment(ref _next):D4}{Guid.NewGuid():N}";

    private static async Task WriteAsync(HttpContext context, int status, JsonNode body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString());
    }

    public async ValueTask DisposeAsync()
    {
        Unreachable = true;
        if (_api is not null)
        {
            await _api.DisposeAsync();
        }
    }

    [GeneratedRegex("^/v[0-9.]+")]
    private static partial Regex VersionPrefix();

    [GeneratedRegex("^/containers/(?<id>[^/]+)(?<action>/json|/start|/stop|/rename|)$")]
    private static partial Regex ContainerPath();
}

/// <summary>A container the fake engine holds.</summary>
internal sealed class FakeContainer(string id, string name)
{
    public string Id { get; } = id;

    public string Name { get; set; } = name;

    public required string Image { get; init; }

    public required JsonObject Config { get; init; }

    public required JsonObject HostConfig { get; init; }

    public required string NetworkName { get; init; }

    public string[] Aliases { get; init; } = [];

    /// <summary>The create call's body, for containers the proxy created.</summary>
    public JsonObject? Created { get; init; }

    public bool Running { get; set; }

    public string Health { get; set; } = "starting";

    public Dictionary<string, string> Labels() =>
        Config["Labels"]?.AsObject().ToDictionary(l => l.Key, l => (string)l.Value!, StringComparer.Ordinal) ?? [];

    public string Env(string variable) =>
        Config["Env"]!.AsArray().Select(v => (string)v!).Single(v => v.StartsWith(variable + "=", StringComparison.Ordinal))[(variable.Length + 1)..];

    public bool HasLabel(string filter)
    {
        var labels = Labels();
        var equals = filter.IndexOf('=', StringComparison.Ordinal);
        return equals < 0 ? labels.ContainsKey(filter) : labels.TryGetValue(filter[..equals], out var value) && value == filter[(equals + 1)..];
    }

    private JsonObject Networks() => new() { [NetworkName] = new JsonObject { ["IPAddress"] = "127.0.0.1", ["Aliases"] = new JsonArray([.. Aliases.Select(a => (JsonNode)a!)]) } };

    public JsonObject Summary() => new()
    {
        ["Id"] = Id,
        ["Names"] = new JsonArray("/" + Name),
        ["Image"] = Image,
        ["Labels"] = Config["Labels"]?.DeepClone(),
        ["State"] = Running ? "running" : "exited",
        ["Status"] = Running ? $"Up 1 second ({Health})" : "Exited (0) 1 second ago",
        ["NetworkSettings"] = new JsonObject { ["Networks"] = Networks() },
    };

    public JsonObject Inspect() => new()
    {
        ["Id"] = Id,
        ["Name"] = "/" + Name,
        ["Image"] = Image,
        ["Config"] = Config.DeepClone(),
        ["HostConfig"] = HostConfig.DeepClone(),
        ["State"] = new JsonObject { ["Status"] = Running ? "running" : "exited", ["Running"] = Running, ["Health"] = new JsonObject { ["Status"] = Health } },
        ["NetworkSettings"] = new JsonObject { ["Networks"] = Networks() },
    };
}
