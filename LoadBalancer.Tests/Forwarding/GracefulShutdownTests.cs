using LoadBalancer.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;

namespace LoadBalancer.Tests.Forwarding;

/// <summary>Stopping the proxy drains it: requests already forwarded finish; nothing in flight is cut off.</summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class GracefulShutdownTests
{
    [Fact]
    public async Task A_request_in_flight_when_the_proxy_stops_still_gets_its_whole_answer()
    {
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var slow = await TestHost.StartBackendAsync(async context =>
        {
            if (context.Request.Path != "/slow")
            {
                return;
            }

            arrived.TrySetResult();
            await release.Task;
            await context.Response.WriteAsync("finished");
        });
        await using var proxy = await TestHost.StartProxyAsync(new Dictionary<string, Uri> { ["slow"] = slow.Address });
        using var client = proxy.CreateClient();

        var inFlight = client.GetAsync("/slow?id=1");
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var stopping = proxy.App.StopAsync(patience.Token);
        // The stop waits for the request rather than cutting it off.
        await Task.Delay(200);
        Assert.False(stopping.IsCompleted);
        release.SetResult();

        using var response = await inFlight;
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("finished", await response.Content.ReadAsStringAsync());
        await stopping.WaitAsync(TimeSpan.FromSeconds(30));
    }
}
