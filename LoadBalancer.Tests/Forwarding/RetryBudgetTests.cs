using System.Text.Json;
using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Tests.Infrastructure;
using static LoadBalancer.Tests.Infrastructure.ProxySettings;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Time.Testing;

namespace LoadBalancer.Tests.Forwarding;

/// <summary>The retry budget: when failures are everywhere, retries stop multiplying the servers' load.</summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class RetryBudgetTests
{
    [Fact]
    public async Task Past_the_budget_a_failed_attempt_goes_back_to_its_client_instead_of_to_another_server()
    {
        // Every server hangs; the proxy's clock moves only once all attempts have arrived, so the count is exact.
        await using var backends = await HungBackends.StartAsync("a", "b", "c");
        var time = new FakeTimeProvider(DateTimeOffset.UtcNow);
        var logs = new LogCollector();
        await using var proxy = await TestHost.StartProxyAsync(
            backends.Servers,
            WithoutProbes(("Retry:MaxAttempts", "2"), ("Retry:AttemptTimeout", "00:00:01"), ("Retry:TotalTimeout", "00:00:10"),
                ("Retry:BudgetPercent", "20"), ("Retry:MinRetryConcurrency", "2")),
            services => services.AddSingleton<TimeProvider>(time).AddSingleton<ILoggerProvider>(logs));
        using var client = proxy.CreateClient();
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var pending = Enumerable.Range(0, 5).Select(i => client.GetAsync($"/home?id=budget-{i}", patience.Token)).ToArray();
        for (var i = 0; i < 5; i++)
        {
            await backends.NextArrivalAsync(patience.Token);
        }

        // All five attempts time out at once. 20 % of 5 in flight is 1, the floor is 2: two retry, three fail at once.
        time.Advance(TimeSpan.FromSeconds(1));
        for (var i = 0; i < 2; i++)
        {
            await backends.NextArrivalAsync(patience.Token);
        }

        while (pending.Count(t => t.IsCompleted) < 3)
        {
            await Task.Delay(20, patience.Token);
        }

        Assert.False(backends.HasUnreadArrival);
        var refused = pending.Where(t => t.IsCompleted).Select(t => t.Result).ToArray();
        foreach (var response in refused)
        {
            Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
            var body = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.EndsWith("did not answer in time", body.GetProperty("message").GetString(), StringComparison.Ordinal);
        }

        Assert.Equal(3, logs.Messages.Count(m => m.StartsWith("Not retried: the retry budget is spent", StringComparison.Ordinal)));

        // The two retries time out too; every slot and every request is given back.
        time.Advance(TimeSpan.FromSeconds(1));
        var all = await Task.WhenAll(pending);
        Assert.All(all, response => Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode));
        var budget = proxy.App.Services.GetRequiredService<RetryBudget>();
        Assert.Equal((0, 0), (budget.Active, budget.Retrying));
        foreach (var response in all)
        {
            response.Dispose();
        }
    }

    [Fact]
    public async Task A_retry_after_an_attempt_that_reached_no_server_does_not_count_against_the_budget()
    {
        await using var s1 = await TestHost.StartServerAsync("1");
        // A floor of 0 and one request in flight: no counted retry fits.
        await using var proxy = await TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["dead"] = ProxyProbe.RefusedAddress(), ["server1"] = s1.Address },
            WithoutProbes(("Retry:BudgetPercent", "20"), ("Retry:MinRetryConcurrency", "0")));
        using var client = proxy.CreateClient();
        var key = ProxyProbe.KeyOwnedBy(proxy, "dead");

        using var response = await client.GetAsync($"/home?id={key}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("server1", ProxyProbe.ServerOf(response));
    }

    [Fact]
    public async Task A_request_whose_server_dropped_the_connection_unanswered_is_retried_outside_the_budget()
    {
        await using var s1 = await TestHost.StartServerAsync("1");
        using var dropping = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        dropping.Start();
        _ = DropEveryRequestAsync(dropping);
        // A floor of 0 and one request in flight: no counted retry fits.
        await using var proxy = await TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["dying"] = new($"http://127.0.0.1:{((System.Net.IPEndPoint)dropping.LocalEndpoint).Port}"), ["server1"] = s1.Address },
            WithoutProbes(("Retry:BudgetPercent", "20"), ("Retry:MinRetryConcurrency", "0")));
        using var client = proxy.CreateClient();
        var key = ProxyProbe.KeyOwnedBy(proxy, "dying");

        using var response = await client.GetAsync($"/home?id={key}");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("server1", ProxyProbe.ServerOf(response));
        dropping.Stop();
    }

    /// <summary>Reads each request's head and resets the connection without a byte of answer, as a server killed mid-request.</summary>
    private static async Task DropEveryRequestAsync(System.Net.Sockets.TcpListener listener)
    {
        try
        {
            while (true)
            {
                using var socket = await listener.AcceptSocketAsync();
                var buffer = new byte[4096];
                var read = 0;
                while (read < buffer.Length && !System.Text.Encoding.ASCII.GetString(buffer, 0, read).Contains("\r\n\r\n", StringComparison.Ordinal))
                {
                    var n = await socket.ReceiveAsync(buffer.AsMemory(read));
                    if (n == 0)
                    {
                        break;
                    }

                    read += n;
                }

                socket.LingerState = new System.Net.Sockets.LingerOption(true, 0);
                socket.Close();
            }
        }
        catch (Exception) when (!listener.Server.IsBound)
        {
            // Stopped by the test.
        }
    }

    [Theory]
    [InlineData("Retry:BudgetPercent", "0", "BudgetPercent")]
    [InlineData("Retry:MinRetryConcurrency", "-1", "MinRetryConcurrency")]
    public async Task Invalid_budget_settings_stop_the_proxy_at_start(string key, string value, string expected)
    {
        var error = await Assert.ThrowsAnyAsync<Exception>(() => TestHost.StartProxyAsync([], WithoutProbes((key, value))));
        Assert.Contains(expected, error.Message, StringComparison.Ordinal);
    }
}
