using LoadBalancer.Proxy;

var builder = WebApplication.CreateSlimBuilder(args);

// Process-wide and read by the runtime at the first socket: before anything starts (see InlineSocketCompletions).
LoadBalancer.Proxy.Forwarding.InlineSocketCompletions.Apply(builder.Configuration);

builder.AddServiceDefaults(meters: [ProxyApplication.TelemetryName], activitySources: [ProxyApplication.TelemetryName]);
builder.AddLoadBalancerProxy();

var app = builder.Build();

// /health reports Healthy / Degraded / Unhealthy with every server's state (see ProxyHealthCheck).
app.MapDefaultEndpoints(LoadBalancer.Proxy.Health.ProxyHealthCheck.EndpointOptions);
app.MapLoadBalancerProxy();

app.Run();
