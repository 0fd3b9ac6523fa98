using System.Net;
using Yarp.ReverseProxy.Configuration;
using Yarp.ReverseProxy.Forwarder;

// Plain YARP with round robin over the upstreams in BENCH_UPSTREAMS (comma-separated URLs); listens on ASPNETCORE_URLS.
// BENCH_HTTP2=1 makes it speak HTTP/2 to them (h2c, prior knowledge), as `proto h2` does for HAProxy.
// Logging stays as a user would have it (console, level from configuration): with no logger at all ASP.NET Core skips
// the per-request Activity, which would make the baseline cheaper than any real deployment.
var builder = WebApplication.CreateSlimBuilder(args);
var upstreams = (builder.Configuration["BENCH_UPSTREAMS"] ?? throw new InvalidOperationException("Set BENCH_UPSTREAMS."))
    .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

builder.Services.AddReverseProxy().LoadFromMemory(
    [new RouteConfig { RouteId = "all", ClusterId = "servers", Match = new RouteMatch { Path = "{**catch-all}" } }],
    [new ClusterConfig
    {
        ClusterId = "servers",
        LoadBalancingPolicy = "RoundRobin",
        HttpRequest = builder.Configuration["BENCH_HTTP2"] == "1"
            ? new ForwarderRequestConfig { Version = HttpVersion.Version20, VersionPolicy = HttpVersionPolicy.RequestVersionExact }
            : null,
        Destinations = upstreams.Select((url, i) => (url, i)).ToDictionary(d => $"server{d.i + 1}", d => new DestinationConfig { Address = d.url }),
    }]);

var app = builder.Build();
app.MapReverseProxy();
app.Run();
