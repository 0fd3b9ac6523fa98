using System.Diagnostics;
using Aspire.Hosting;
using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using LoadBalancer.Tests.Infrastructure;
using static LoadBalancer.Tests.Admin.AdminCalls;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// An AppHost whose pool has one free slot, <c>server4</c>, whose server runs but never passes its health check (its
/// check is swapped for one that always fails), and a proxy that waits <see cref="AddTimeout"/> for an /add.
/// </summary>
public sealed class UnhealthySlotAppHostFixture : AdminAppHostFixture
{
    public const string Slot = "server4";

    public static readonly TimeSpan AddTimeout = TimeSpan.FromSeconds(5);

    protected override IEnumerable<string> Arguments =>
        ["LoadBalancer:MaxServers=4", $"Proxy:Provisioning:StartTimeout={AddTimeout:c}"];

    protected override async Task OnBuildingAsync(IDistributedApplicationTestingBuilder builder, CancellationToken cancellationToken)
    {
        await base.OnBuildingAsync(builder, cancellationToken);
        var slot = builder.Resources.OfType<ProjectResource>().Single(r => r.Name == Slot);
        foreach (var check in slot.Annotations.OfType<HealthCheckAnnotation>().ToList())
        {
            slot.Annotations.Remove(check);
        }

        const string never = "server4-never-healthy";
        builder.Services.AddHealthChecks().AddCheck(never, () => HealthCheckResult.Unhealthy("held unhealthy by the test"));
        builder.CreateResourceBuilder(slot).WithHealthCheck(never);
    }
}

/// <summary>
/// #15: a server that never becomes healthy makes <c>/add</c> fail within the proxy's start timeout, and leaves
/// nothing running and nothing changed in the ring.
/// </summary>
[Trait(TestCategories.Name, TestCategories.EndToEnd)]
[Collection(EndToEndCollection.Name)]
public sealed class ProvisioningTimeoutEndToEndTests(UnhealthySlotAppHostFixture fixture) : IClassFixture<UnhealthySlotAppHostFixture>
{
    private const int Keys = 300;

    [Fact]
    public async Task An_add_whose_server_never_becomes_healthy_fails_in_time_and_leaves_nothing_running_or_in_the_ring()
    {
        using var client = fixture.CreateProxyClient();
        client.Timeout = TimeSpan.FromMinutes(2);
        var before = await Owners.OfAsync(client, "timeout-", Keys);

        var stopwatch = Stopwatch.StartNew();
        var (status, body) = await SendAsync(client, Add("""{"n":1,"hostnames":["S9"]}""", fixture.AdminKey));
        var took = stopwatch.Elapsed;

        Assert.Equal(HttpStatusCode.GatewayTimeout, status);
        var message = System.Text.Json.JsonDocument.Parse(body).RootElement.GetProperty("message").GetString()!;
        Assert.Contains("S9", message, StringComparison.Ordinal);
        Assert.Contains("did not become healthy", message, StringComparison.Ordinal);
        // The timeout, plus the time to stop the slot again; far from the 60 s default, which would mean it was ignored.
        Assert.True(took < UnhealthySlotAppHostFixture.AddTimeout + TimeSpan.FromSeconds(40), $"/add answered after {took}");

        using (var cts = new CancellationTokenSource(TimeSpan.FromMinutes(1)))
        {
            await fixture.App.ResourceNotifications.WaitForResourceAsync(
                UnhealthySlotAppHostFixture.Slot, e => e.Snapshot.State?.Text is "Finished" or "Exited", cts.Token);
        }

        (status, body) = await SendAsync(client, Rep(fixture.AdminKey));
        Assert.Equal(HttpStatusCode.OK, status);
        AssertJson(Replicas("server1", "server2", "server3"), body);
        Assert.Equal(before, await Owners.OfAsync(client, "timeout-", Keys));
    }
}
