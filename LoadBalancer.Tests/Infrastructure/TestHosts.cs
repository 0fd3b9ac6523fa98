using LoadBalancer.Proxy;
using LoadBalancer.Server;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Tests.Infrastructure;

/// <summary>A web application the test started on 127.0.0.1 with a free port; disposing stops it.</summary>
public sealed class TestHost(WebApplication app, Uri address) : IAsyncDisposable
{
    public WebApplication App { get; } = app;

    public Uri Address { get; } = address;

    public HttpClient CreateClient() => new() { BaseAddress = Address, Timeout = TimeSpan.FromSeconds(30) };

    public async ValueTask DisposeAsync()
    {
        await App.StopAsync(TimeSpan.FromSeconds(5));
        await App.DisposeAsync();
    }

    /// <summary>Builds, configures and starts an application on 127.0.0.1:0.</summary>
    public static async Task<TestHost> StartAsync(
        Action<WebApplicationBuilder> configureBuilder,
        Action<WebApplication> configureApp,
        IDictionary<string, string?>? settings = null,
        string? appSettings = null)
    {
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { EnvironmentName = "Testing" });
        // The test output holds one appsettings.json, whichever referenced project's was copied last: each host reads
        // the file its own project ships (see the csproj) instead, or none.
        foreach (var json in builder.Configuration.Sources.OfType<Microsoft.Extensions.Configuration.Json.JsonConfigurationSource>().ToList())
        {
            builder.Configuration.Sources.Remove(json);
        }

        if (appSettings is not null)
        {
            builder.Configuration.AddJsonFile(Path.Combine(AppContext.BaseDirectory, appSettings), optional: false);
        }

        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        if (settings is not null)
        {
            builder.Configuration.AddInMemoryCollection(settings);
        }

        configureBuilder(builder);
        var app = builder.Build();
        configureApp(app);
        await app.StartAsync();
        var address = app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        return new TestHost(app, new Uri(address));
    }

    /// <summary>Starts a real LoadBalancer.Server with <c>SERVER_ID=<paramref name="id"/></c>.</summary>
    public static Task<TestHost> StartServerAsync(string id) => StartAsync(
        builder => builder.AddServerOptions(),
        app => app.MapServerEndpoints(),
        new Dictionary<string, string?> { ["SERVER_ID"] = id },
        ServerAppSettings);

    /// <summary>LoadBalancer.Server's appsettings.json, as the csproj copies it.</summary>
    public const string ServerAppSettings = "appsettings/server.json";

    /// <summary>LoadBalancer.Proxy's appsettings.json, as the csproj copies it.</summary>
    public const string ProxyAppSettings = "appsettings/proxy.json";

    /// <summary>Starts a backend whose every answer is produced by <paramref name="handler"/>.</summary>
    public static Task<TestHost> StartBackendAsync(RequestDelegate handler, IDictionary<string, string?>? settings = null) => StartAsync(
        _ => { },
        app => app.Run(handler),
        settings);

    /// <summary>Starts the proxy with servers <paramref name="servers"/> (name → address) and extra settings.</summary>
    public static Task<TestHost> StartProxyAsync(
        IEnumerable<KeyValuePair<string, Uri>> servers,
        IDictionary<string, string?>? settings = null,
        Action<IServiceCollection>? services = null)
    {
        var all = new Dictionary<string, string?>(settings ?? new Dictionary<string, string?>());
        foreach (var (name, address) in servers)
        {
            all[$"Services:{name}:http:0"] = address.ToString();
        }

        return StartAsync(
            builder =>
            {
                builder.AddLoadBalancerProxy();
                services?.Invoke(builder.Services);
            },
            app =>
            {
                app.MapHealthChecks("/health", LoadBalancer.Proxy.Health.ProxyHealthCheck.EndpointOptions);
                app.MapLoadBalancerProxy();
            },
            all,
            ProxyAppSettings);
    }
}
