using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// Starts the real AppHost with the Aspire dashboard, which <see cref="DistributedApplicationTestingBuilder"/> leaves out
/// by default: the proxy then exports its telemetry to the dashboard exactly as under <c>dotnet run</c>.
/// </summary>
public sealed class ObservabilityAppHostFixture : IAsyncLifetime
{
    /// <summary>The dashboard resource's name (Aspire's <c>KnownResourceNames.AspireDashboard</c>).</summary>
    public const string DashboardResource = "aspire-dashboard";

    private DistributedApplication? _app;

    public DistributedApplication App => _app ?? throw new InvalidOperationException("The AppHost has not started.");

    public async Task InitializeAsync()
    {
        using var cts = new CancellationTokenSource(AppHostFixture.StartTimeout);
        // Port values are placeholders: the testing builder randomizes every port, the dashboard's included.
        string[] args =
        [
            $"LoadBalancer:Servers={AppHostFixture.ServerCount}",
            "ASPNETCORE_URLS=http://localhost:18888",
            "ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL=http://localhost:18889",
            "ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL=http://localhost:18890",
            "ASPIRE_ALLOW_UNSECURED_TRANSPORT=true",
            "ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS=true",
        ];
        _app = await AppHostFixture.StartAsync(args, (options, _) => options.DisableDashboard = false, cts.Token);
        await _app.ResourceNotifications.WaitForResourceAsync(DashboardResource, KnownResourceStates.Running, cts.Token);
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
