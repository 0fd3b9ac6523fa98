using LoadBalancer.Proxy;

var builder = WebApplication.CreateSlimBuilder(args);

builder.AddServiceDefaults(meters: [ProxyApplication.TelemetryName], activitySources: [ProxyApplication.TelemetryName]);
builder.AddLoadBalancerProxy();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapLoadBalancerProxy();

app.Run();
