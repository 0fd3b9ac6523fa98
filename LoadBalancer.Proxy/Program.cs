using LoadBalancer.Proxy;

var builder = WebApplication.CreateSlimBuilder(args);

builder.AddServiceDefaults(meters: [ProxyApplication.TelemetryName], activitySources: [ProxyApplication.TelemetryName]);
builder.AddLoadBalancerProxy();

var app = builder.Build();

// /health reports Healthy / Degraded / Unhealthy with every member's state (see UpstreamHealthCheck).
app.MapDefaultEndpoints(LoadBalancer.Proxy.Health.UpstreamHealthCheck.EndpointOptions);
app.MapLoadBalancerProxy();

app.Run();
