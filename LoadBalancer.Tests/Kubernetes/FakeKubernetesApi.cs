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
