using LoadBalancer.AppHost;

// The system (see the README's picture): the servers, the proxy in front of them, the admin key it is managed with.
var builder = DistributedApplication.CreateBuilder(args);
var options = AppHostOptions.Read(builder.Configuration);

var adminKey = builder.AddAdminKey();

var proxy = builder.AddProxy(options.ProxyPort, options.ProxyReplicas, adminKey)
    .WithServerProtocol(options.ServerProtocol)
    .WithProxySettings(builder.Configuration.GetSection("Proxy"));

// N distinct resources rather than WithReplicas: replicas would hide behind one DCP endpoint that balances per
// connection, and the ring must see every server on its own. When run, the pool holds MaxServers of them:
// the first N start with the AppHost, the others when POST /add asks for servers (a deployment gets the N only).
var pool = builder.AddServerPool(options);
foreach (var server in pool.Slots)
{
    // Dashboard commands: stop the server through the proxy's admin API (/rm) and start it again (/add), with the key.
    server.WithRingCommands(proxy.GetEndpoint("http"), adminKey.Resource, pool.NameOf);
    if (pool.StartsWithAppHost(server))
    {
        proxy.WithReference(server).WaitFor(server);
    }
}

proxy.WithServerPool(pool);

if (options.RespawnServers)
{
    builder.AddServerSupervisor(pool.Resources);
}

builder.Build().Run();
