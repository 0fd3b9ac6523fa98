using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// Starts its own AppHost for the admin end-to-end tests (they remove servers, so they share it with no one) and reads
/// the admin key the AppHost generated from its <c>admin-key</c> parameter.
/// </summary>
public sealed class AdminAppHostFixture : IAsyncLifetime
{
    public const int ServerCount = 3;

    private DistributedApplication? _app;

    public DistributedApplication App => _app ?? throw new InvalidOperationException("The AppHost has not started.");

    /// <summary>The generated admin key the proxy was given.</summary>
    public string AdminKey { get; private set; } = "";

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(AppHostFixture.StartTimeout);
        var builder = await DistributedApplicationTestingBuilder.CreateAsync<Projects.LoadBalancer_AppHost>(
            [$"LoadBalancer:Servers={ServerCount}"], cts.Token);
        builder.Services.AddLogging(logging => logging
            .SetMinimumLevel(LogLevel.Warning)
            .AddFilter("Aspire.Hosting.Dcp", LogLevel.Warning));

        var keyParameter = builder.Resources.OfType<ParameterResource>().Single(p => p.Name == "admin-key");
        Assert.True(keyParameter.Secret);
        AdminKey = await keyParameter.GetValueAsync(cts.Token) ?? throw new InvalidOperationException("admin-key has no value.");

        _app = await builder.BuildAsync(cts.Token);
        await _app.StartAsync(cts.Token);
        await _app.ResourceNotifications.WaitForResourceHealthyAsync("proxy", cts.Token);
    }

    /// <summary>A client for the proxy's http endpoint.</summary>
    public HttpClient CreateProxyClient()
    {
        var client = App.CreateHttpClient("proxy", "http");
        client.Timeout = TimeSpan.FromSeconds(30);
        return client;
    }

    public async Task DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.StopAsync();
            await _app.DisposeAsync();
        }
    }
}
