using LoadBalancer.Server;

var builder = WebApplication.CreateSlimBuilder(args);

builder.AddServiceDefaults();
builder.AddServerOptions();

var app = builder.Build();

app.MapDefaultEndpoints();
app.MapServerEndpoints();

app.Run();
