using Aspire.Hosting;
using Aspire.Hosting.Testing;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// Its own AppHost for the observability end-to-end tests, with the Aspire dashboard, which
/// <see cref="DistributedApplicationTestingBuilder"/> leaves out by default: the proxy then exports its telemetry to the
/// dashboard exactly as under <c>dotnet run</c>.
/// </summary>
public sealed class ObservabilityAppHostFixture : AppHostFixture
{
    /// <summary>The dashboard resource's name (Aspire's <c>KnownResourceNames.AspireDashboard</c>).</summary>
    public const string DashboardResource = "aspire-dashboard";

    // Port values are placeholders: the testing builder randomizes the dashboard's (proxied) endpoints.
    protected override IEnumerable<string> Arguments =>
    [
        "ASPNETCORE_URLS=http://localhost:18888",
        "ASPIRE_DASHBOARD_OTLP_ENDPOINT_URL=http://localhost:18889",
        "ASPIRE_RESOURCE_SERVICE_ENDPOINT_URL=http://localhost:18890",
        "ASPIRE_ALLOW_UNSECURED_TRANSPORT=true",
        "ASPIRE_DASHBOARD_UNSECURED_ALLOW_ANONYMOUS=true",
    ];

    protected override void OnCreating(DistributedApplicationOptions options) => options.DisableDashboard = false;

    /// <summary>Waits until the dashboard runs.</summary>
    public async Task WaitForDashboardAsync()
    {
        using var cts = new CancellationTokenSource(StartTimeout);
        await App.ResourceNotifications.WaitForResourceAsync(DashboardResource, Aspire.Hosting.ApplicationModel.KnownResourceStates.Running, cts.Token);
    }
}
