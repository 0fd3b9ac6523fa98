using System.Globalization;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Tests.Kubernetes;

/// <summary>
/// A small stand-in for the Kubernetes API server on 127.0.0.1, for <c>discovery.k8s.io/v1</c> EndpointSlices only,
/// speaking the API's list and watch JSON as the API reference describes it: a list carries the collection's
/// <c>metadata.resourceVersion</c>; <c>?watch=true</c> streams one JSON event per line (<c>ADDED</c>,
/// <c>MODIFIED</c>, <c>DELETED</c>, <c>BOOKMARK</c> with only the version, <c>ERROR</c> with a <c>Status</c>)
/// from the version asked for; a version older than the kept history gives 410 Gone (an ERROR event on a watch, a
/// 410 Status on a list with <c>resourceVersionMatch=NotOlderThan</c>); <c>timeoutSeconds</c> ends a watch.
/// Also the StatefulSet <c>server</c>'s scale subresource (<c>autoscaling/v1</c> Scale): GET, and PATCH with a JSON
/// patch (<c>application/json-patch+json</c>), where a failed <c>test</c> op is refused with 422 as the API server's
/// patch handler does; <see cref="Scaled"/> plays the StatefulSet controller.
/// </summary>
internal sealed class FakeKubernetesApi : IAsyncDisposable
{
    public const string Namespace = "loadbalancer";

    private readonly Lock _gate = new();
    private readonly Dictionary<string, JsonObject> _slices = new(StringComparer.Ordinal);
    private readonly List<(long Version, string Type, JsonObject Object)> _history = [];
    private readonly List<(Channel<string> Lines, HttpContext Context)> _watches = [];
    private readonly WebApplication _app;
    private long _version = 100;
    private long _keptFrom;
    private volatile bool _down;

    private FakeKubernetesApi(WebApplication app)
    {
        _app = app;
        _app.MapGet($"/apis/discovery.k8s.io/v1/namespaces/{{ns}}/endpointslices", HandleAsync);
        _app.MapGet($"/apis/apps/v1/namespaces/{Namespace}/statefulsets/{StatefulSet}/scale", ReadScaleAsync);
        _app.MapMethods($"/apis/apps/v1/namespaces/{Namespace}/statefulsets/{StatefulSet}/scale", ["PATCH"], PatchScaleAsync);
    }

    public const string StatefulSet = "server";

    private int _replicas;
    private long _scaleVersion = 500;
    private int? _afterNextRead;
    private readonly List<Task> _controller = [];

    /// <summary>The StatefulSet's <c>spec.replicas</c>.</summary>
    public int Replicas
    {
        get { lock (_gate) { return _replicas; } }
        set { lock (_gate) { _replicas = value; _scaleVersion++; } }
    }

    /// <summary>Scale reads and patches answered (a refused patch counts).</summary>
    public int ScaleReads, ScalePatches;

    /// <summary>
    /// Called with (old, new) replicas after each accepted change, off the request (as the StatefulSet controller
    /// works after the API answered): a test creates or deletes pods and their endpoints here.
    /// </summary>
    public Func<int, int, Task>? Scaled { get; set; }

    /// <summary>Right after answering the next scale read, someone else sets the replicas to <paramref name="replicas"/> (a race).</summary>
    public void ScaleAfterNextRead(int replicas)
    {
        lock (_gate)
        {
            _afterNextRead = replicas;
        }
    }

    /// <summary>Waits until every change handed to <see cref="Scaled"/> so far is carried out.</summary>
    public Task SettledAsync()
    {
        lock (_gate)
        {
            return Task.WhenAll(_controller);
        }
    }

    private async Task ReadScaleAsync(HttpContext context)
    {
        Interlocked.Increment(ref ScaleReads);
        JsonObject scale;
        lock (_gate)
        {
            scale = Scale();
            if (_afterNextRead is { } replicas)
            {
                _afterNextRead = null;
                _replicas = replicas;
                _scaleVersion++;
            }
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(scale.ToJsonString(), context.RequestAborted);
    }

    private async Task PatchScaleAsync(HttpContext context)
    {
        Interlocked.Increment(ref ScalePatches);
        if (context.Request.ContentType?.StartsWith("application/json-patch+json", StringComparison.Ordinal) != true)
        {
            await ReplyAsync(context, StatusCodes.Status415UnsupportedMediaType, Status(415, "UnsupportedMediaType", $"the body of the request was in an unknown format - accepted media types include: application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml"));
            return;
        }

        var operations = (await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted))!.AsArray();
        JsonObject? failed = null;
        (int From, int To)? changed = null;
        lock (_gate)
        {
            var replicas = _replicas;
            foreach (var operation in operations)
            {
                var op = operation!["op"]!.GetValue<string>();
                var path = operation["path"]!.GetValue<string>();
                if (path != "/spec/replicas" || op is not ("test" or "replace"))
                {
                    failed = Status(422, "Invalid", $"the fake supports only test and replace of /spec/replicas, not {op} {path}");
                    break;
                }

                var value = operation["value"]!.GetValue<int>();
                if (op == "test" && value != replicas)
                {
                    // As the API server's JSON patch handler: the patch does not apply, 422 with the library's message.
                    failed = Status(422, "Invalid", $"testing value /spec/replicas failed: test failed");
                    break;
                }

                if (op == "replace")
                {
                    replicas = value;
                }
            }

            if (failed is null && replicas != _replicas)
            {
                changed = (_replicas, replicas);
                _replicas = replicas;
                _scaleVersion++;
            }

            if (changed is { } change && Scaled is { } scaled)
            {
                _controller.Add(Task.Run(() => scaled(change.From, change.To)));
            }
        }

        await ReplyAsync(context, failed is null ? StatusCodes.Status200OK : StatusCodes.Status422UnprocessableEntity, failed ?? Scale());
    }

    private JsonObject Scale() => new()
    {
        ["kind"] = "Scale",
        ["apiVersion"] = "autoscaling/v1",
        ["metadata"] = new JsonObject
        {
            ["name"] = StatefulSet,
            ["namespace"] = Namespace,
            ["uid"] = "4b6c1f0e-8c1a-4d57-9a53-3f0c2b1e7d10",
            ["resourceVersion"] = Version(_scaleVersion),
            ["creationTimestamp"] = "2026-12-01T00:00:00Z",
        },
        ["spec"] = new JsonObject { ["replicas"] = _replicas },
        ["status"] = new JsonObject { ["replicas"] = _replicas, ["selector"] = "app.kubernetes.io/name=server" },
    };

    private static async Task ReplyAsync(HttpContext context, int status, JsonObject body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted);
    }

    public Uri Address { get; private set; } = null!;

    /// <summary>Lists answered, lists refused with 410, watches opened.</summary>
    public int Lists, ListsGone, Watches;

    public static async Task<FakeKubernetesApi> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var api = new FakeKubernetesApi(builder.Build());
        await api._app.StartAsync();
        api.Address = new Uri(api._app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        return api;
    }

    /// <summary>Creates or replaces slice <paramref name="name"/> of Service <paramref name="service"/>: one port, its endpoints.</summary>
    public void SetSlice(string name, string service, string portName, int port, params (string Hostname, bool Ready)[] endpoints)
    {
        var slice = new JsonObject
        {
            ["kind"] = "EndpointSlice",
            ["apiVersion"] = "discovery.k8s.io/v1",
            ["metadata"] = new JsonObject
            {
                ["name"] = name,
                ["namespace"] = Namespace,
                ["labels"] = new JsonObject
                {
                    ["kubernetes.io/service-name"] = service,
                    ["endpointslice.kubernetes.io/managed-by"] = "endpointslice-controller.k8s.io",
                },
            },
            ["addressType"] = "IPv4",
            ["endpoints"] = new JsonArray([.. endpoints.Select(e => (JsonNode)new JsonObject
            {
                ["addresses"] = new JsonArray("127.0.0.1"),
                ["conditions"] = new JsonObject { ["ready"] = e.Ready, ["serving"] = e.Ready, ["terminating"] = false },
                ["hostname"] = e.Hostname,
                ["targetRef"] = new JsonObject { ["kind"] = "Pod", ["namespace"] = Namespace, ["name"] = e.Hostname },
                ["nodeName"] = "node-1",
            })]),
            ["ports"] = new JsonArray(new JsonObject { ["name"] = portName, ["protocol"] = "TCP", ["port"] = port }),
        };
        lock (_gate)
        {
            Record(_slices.ContainsKey(name) ? "MODIFIED" : "ADDED", slice);
            _slices[name] = slice;
        }
    }

    public void DeleteSlice(string name)
    {
        lock (_gate)
        {
            if (_slices.Remove(name, out var slice))
            {
                Record("DELETED", slice);
            }
        }
    }

    /// <summary>Sends every open watch a BOOKMARK at the current version.</summary>
    public void Bookmark()
    {
        lock (_gate)
        {
            var bookmark = Event("BOOKMARK", new JsonObject
            {
                ["kind"] = "EndpointSlice",
                ["apiVersion"] = "discovery.k8s.io/v1",
                ["metadata"] = new JsonObject { ["resourceVersion"] = Version(_version) },
            });
            foreach (var (lines, _) in _watches)
            {
                lines.Writer.TryWrite(bookmark);
            }
        }
    }

    /// <summary>
    /// Forgets the history up to now (as etcd compaction does): every open watch gets ERROR 410 Gone and ends, and a
    /// watch or a NotOlderThan list from an older version is refused the same way.
    /// </summary>
    public void Compact()
    {
        lock (_gate)
        {
            // Every version seen so far is gone; the next list gives one a watch can start from.
            _keptFrom = ++_version;
            _history.Clear();
            foreach (var (lines, _) in _watches)
            {
                lines.Writer.TryWrite(Gone(_version - 1));
                lines.Writer.TryComplete();
            }
        }
    }

    /// <summary>While down, every request and open watch has its connection reset, as when the API server is unreachable.</summary>
    public bool Down
    {
        get => _down;
        set
        {
            _down = value;
            if (value)
            {
                lock (_gate)
                {
                    foreach (var (_, context) in _watches)
                    {
                        context.Abort();
                    }
                }
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await SettledAsync();
        lock (_gate)
        {
            foreach (var (lines, _) in _watches)
            {
                lines.Writer.TryComplete();
            }
        }

        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    private async Task HandleAsync(HttpContext context, string ns)
    {
        if (_down)
        {
            context.Abort();
            return;
        }

        var query = context.Request.Query;
        var selector = query["labelSelector"].ToString();
        var version = long.TryParse(query["resourceVersion"], CultureInfo.InvariantCulture, out var v) ? v : (long?)null;
        if (query["watch"] is ["true"] or ["1"])
        {
            await WatchAsync(context, selector, version, int.TryParse(query["timeoutSeconds"], CultureInfo.InvariantCulture, out var t) ? t : 1800);
            return;
        }

        JsonObject body;
        lock (_gate)
        {
            if (version is { } asked && query["resourceVersionMatch"] == "NotOlderThan" && asked < _keptFrom)
            {
                Interlocked.Increment(ref ListsGone);
                context.Response.StatusCode = StatusCodes.Status410Gone;
                body = Status(410, "Expired", $"Timeout: Too large resource version: {asked}, current: {_version}");
            }
            else
            {
                Interlocked.Increment(ref Lists);
                body = new JsonObject
                {
                    ["kind"] = "EndpointSliceList",
                    ["apiVersion"] = "discovery.k8s.io/v1",
                    ["metadata"] = new JsonObject { ["resourceVersion"] = Version(_version) },
                    ["items"] = new JsonArray([.. _slices.Values.Where(s => Matches(s, selector)).Select(s => s.DeepClone())]),
                };
            }
        }

        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString(), context.RequestAborted);
    }

    private async Task WatchAsync(HttpContext context, string selector, long? version, int timeoutSeconds)
    {
        Interlocked.Increment(ref Watches);
        var lines = Channel.CreateUnbounded<string>();
        lock (_gate)
        {
            if (version is { } from && from < _keptFrom)
            {
                lines.Writer.TryWrite(Gone(from));
                lines.Writer.TryComplete();
            }
            else
            {
                // No version: the current objects as ADDED first, as the API does; then what happened after it.
                var replay = version is null
                    ? _slices.Values.Select(s => Event("ADDED", s))
                    : _history.Where(h => h.Version > version).Select(h => Event(h.Type, h.Object));
                foreach (var line in replay)
                {
                    lines.Writer.TryWrite(line);
                }

                _watches.Add((lines, context));
            }
        }

        context.Response.ContentType = "application/json";
        await context.Response.StartAsync(context.RequestAborted);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));
        try
        {
            await foreach (var line in lines.Reader.ReadAllAsync(timeout.Token))
            {
                if (line.Contains("\"ERROR\"", StringComparison.Ordinal) || Matches(JsonNode.Parse(line)!["object"]!.AsObject(), selector) ||
                    line.Contains("\"BOOKMARK\"", StringComparison.Ordinal))
                {
                    await context.Response.WriteAsync(line + "\n", timeout.Token);
                    await context.Response.Body.FlushAsync(timeout.Token);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The watch's timeout (the server ends it cleanly) or the client went away.
        }
        finally
        {
            lock (_gate)
            {
                _watches.RemoveAll(w => w.Lines == lines);
            }
        }
    }

    private void Record(string type, JsonObject slice)
    {
        slice["metadata"]!["resourceVersion"] = Version(++_version);
        _history.Add((_version, type, (JsonObject)slice.DeepClone()));
        var line = Event(type, slice);
        foreach (var (lines, _) in _watches)
        {
            lines.Writer.TryWrite(line);
        }
    }

    private static bool Matches(JsonObject slice, string selector) =>
        selector.Length == 0 ||
        (selector.Split('=', 2) is [var key, var value] && slice["metadata"]?["labels"]?[key]?.GetValue<string>() == value);

    private static string Event(string type, JsonObject @object) => new JsonObject { ["type"] = type, ["object"] = @object.DeepClone() }.ToJsonString();

    private string Gone(long from) =>
        Event("ERROR", Status(410, "Expired", $"too old resource version: {from} ({_version})"));

    private static JsonObject Status(int code, string reason, string message) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = message,
        ["reason"] = reason,
        ["code"] = code,
    };

    private static string Version(long version) => version.ToString(CultureInfo.InvariantCulture);
}
