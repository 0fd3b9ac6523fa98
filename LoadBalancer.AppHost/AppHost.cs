using LoadBalancer.AppHost;

// The system (see the README's picture): N servers, the proxy in front of them, the admin key it is managed with.
var builder = DistributedApplication.CreateBuilder(args);
var options = AppHostOptions.Read(builder.Configuration);

var adminKey = builder.AddAdminKey();

var proxy = builder.AddProxy(options.ProxyPort, adminKey)
    .WithServerProtocol(options.ServerProtocol)
    .WithProxySettings(builder.Configuration.GetSection("Proxy"));

// N distinct resources rather than WithReplicas: replicas would hide behind one DCP endpoint that balances per
// connection, and the ring must see every server on its own.
for (var id = 1; id <= options.Servers; id++)
{
    var server = builder.AddServer(id, options.ProxiedServers)
        // Dashboard commands: take the server out of the proxy's ring and put it back (the admin API, with the key).
        .WithRingCommands(proxy.GetEndpoint("http"), adminKey.Resource);

    proxy.WithReference(server).WaitFor(server);
}

if (options.RespawnServers)
{
    builder.AddServerSupervisor(options.Servers);
}

builder.Build().Run();
