using Yarp.ReverseProxy.Configuration;

// Plain YARP with round robin over the upstreams in BENCH_UPSTREAMS (comma-separated URLs); listens on ASPNETCORE_URLS.
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
        Destinations = upstreams.Select((url, i) => (url, i)).ToDictionary(d => $"server{d.i + 1}", d => new DestinationConfig { Address = d.url }),
    }]);

var app = builder.Build();
app.MapReverseProxy();
app.Run();
