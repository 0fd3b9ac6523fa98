using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using LoadBalancer.Proxy;
using LoadBalancer.Proxy.Admin;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Proxy.Membership;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using static LoadBalancer.Tests.Admin.AdminCalls;

namespace LoadBalancer.Tests.Admin;

/// <summary>Admin changes while requests route: no failed request, drained servers, a consistent final ring.</summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class AdminUnderLoadTests
{
    [Fact]
    public async Task Parallel_adds_and_removes_while_5000_requests_route_fail_no_request_and_end_consistent()
    {
        await using var cluster = await TestCluster.StartAsync(3);
        var proxy = cluster.Proxy;
        using var client = proxy.CreateClient();
        using var adminClient = proxy.CreateClient();

        const int requests = 5000;
        var failures = new ConcurrentBag<string>();
        var seen = new ConcurrentDictionary<string, int>();
        using var routingDone = new CancellationTokenSource();

        // server3 always stays; server1 and server2 each leave and come back in their own loop, concurrently.
        var adminLoops = new[] { "server1", "server2" }.Select(name => Task.Run(async () =>
        {
            var cycles = 0;
            while (!routingDone.IsCancellationRequested && cycles < 200)
            {
                var removed = await SendAsync(adminClient, Remove($$"""{"n":1,"hostnames":["{{name}}"]}"""));
                var added = await SendAsync(adminClient, Add($$"""{"n":1,"hostnames":["{{name}}"]}"""));
                if (removed.Status != HttpStatusCode.OK || added.Status != HttpStatusCode.OK)
                {
                    failures.Add($"admin {name}: {removed.Status} {removed.Body} / {added.Status} {added.Body}");
                }

                cycles++;
            }

            return cycles;
        })).ToArray();

        await Parallel.ForEachAsync(Enumerable.Range(0, requests), new ParallelOptions { MaxDegreeOfParallelism = 16 }, async (id, ct) =>
        {
            using var response = await client.GetAsync($"/home?id=load-{id}", ct);
            if (response.StatusCode != HttpStatusCode.OK)
            {
                failures.Add($"request {id}: {response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
                return;
            }

            seen.AddOrUpdate(Assert.Single(response.Headers.GetValues(ProxyRequestHandler.ServerNameHeader)), 1, (_, n) => n + 1);
        });
        await routingDone.CancelAsync();
        var cycles = await Task.WhenAll(adminLoops);

        Assert.Empty(failures);
        Assert.All(cycles, count => Assert.True(count > 0));
        Assert.Equal(requests, seen.Values.Sum());
        AssertJson(Replicas("server1", "server2", "server3"), (await SendAsync(adminClient, Rep())).Body);
        var snapshot = proxy.App.Services.GetRequiredService<TableState>().Current!;
        Assert.Equal(["server1", "server2", "server3"], snapshot.Table.Servers.Select(m => m.Name));
        Assert.Equal(1 + (2 * cycles.Sum()), snapshot.Version);
        Assert.All(snapshot.Table.Servers, server => Assert.Equal(0, server.InFlight));
    }

    [Fact]
    public async Task A_removed_server_finishes_the_requests_it_already_had()
    {
        var gate = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        gate.SetResult();
        var arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        await using var slow = await TestHost.StartBackendAsync(async context =>
        {
            arrived.TrySetResult();
            await Volatile.Read(ref gate).Task;
            await context.Response.WriteAsync("slow done");
        });
        await using var fast = await TestHost.StartServerAsync("2");
        await using var proxy = await TestHost.StartProxyAsync(new Dictionary<string, Uri> { ["slow"] = slow.Address, ["fast"] = fast.Address });
        using var client = proxy.CreateClient();

        // Find a key the slow server owns while its gate is open.
        var id = 0;
        while (!await OwnedBySlowAsync(client, id))
        {
            id++;
        }

        Volatile.Write(ref gate, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        arrived = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var inFlight = client.GetAsync($"/home?id={id}");
        await arrived.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var slowServer = proxy.App.Services.GetRequiredService<TableState>().Current!.Table.Servers.Single(m => m.Name == "slow");
        Assert.Equal(1, slowServer.InFlight);

        var (status, body) = await SendAsync(client, Remove("""{"n":1,"hostnames":["slow"]}"""));
        Assert.Equal(HttpStatusCode.OK, status);
        AssertJson(Replicas("fast"), body);
        Assert.False(inFlight.IsCompleted);

        // New requests for the same key go to the server that stays; the one in flight still completes at the removed one.
        using (var after = await client.GetAsync($"/home?id={id}"))
        {
            Assert.Equal("fast", Assert.Single(after.Headers.GetValues(ProxyRequestHandler.ServerNameHeader)));
        }

        gate.SetResult();
        using var response = await inFlight.WaitAsync(TimeSpan.FromSeconds(30));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal("slow", Assert.Single(response.Headers.GetValues(ProxyRequestHandler.ServerNameHeader)));
        Assert.Equal("slow done", await response.Content.ReadAsStringAsync());
        Assert.Equal(0, slowServer.InFlight);

        static async Task<bool> OwnedBySlowAsync(HttpClient client, int id)
        {
            using var response = await client.GetAsync($"/home?id={id}");
            return response.Headers.GetValues(ProxyRequestHandler.ServerNameHeader).Single() == "slow";
        }
    }

    [Fact]
    public async Task Admin_calls_are_counted_by_endpoint_and_status()
    {
        await using var proxy = await StartProxyAsync(3);
        using var client = proxy.CreateClient();
        var factory = proxy.App.Services.GetRequiredService<IMeterFactory>();
        var counts = new ConcurrentDictionary<string, long>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            // Only this proxy's meter: other tests' proxies run in the same process.
            if (instrument.Meter.Name == ProxyApplication.TelemetryName && ReferenceEquals(instrument.Meter.Scope, factory))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            var key = instrument.Name;
            foreach (var tag in tags)
            {
                key += $" {tag.Key}={tag.Value}";
            }

            counts.AddOrUpdate(key, value, (_, total) => total + value);
        });
        listener.Start();

        await SendAsync(client, Rep());
        await SendAsync(client, Remove("""{"n":2}"""));
        await SendAsync(client, Remove("""{"n":5}"""));

        Assert.Equal(1, counts.GetValueOrDefault($"{AdminMetrics.RequestsName} loadbalancer.admin.endpoint=rep http.response.status_code=200"));
        Assert.Equal(1, counts.GetValueOrDefault($"{AdminMetrics.RequestsName} loadbalancer.admin.endpoint=rm http.response.status_code=200"));
        Assert.Equal(1, counts.GetValueOrDefault($"{AdminMetrics.RequestsName} loadbalancer.admin.endpoint=rm http.response.status_code=409"));
        Assert.Equal(2, counts.GetValueOrDefault($"{AdminMetrics.ServersChangedName} loadbalancer.admin.endpoint=rm"));
    }

    [Fact]
    public async Task Admin_calls_are_logged_with_caller_endpoint_and_result()
    {
        var logs = new LogCollector();
        await using var proxy = await TestHost.StartProxyAsync(
            [KeyValuePair.Create("server1", new Uri("http://127.0.0.1:40001")), KeyValuePair.Create("server2", new Uri("http://127.0.0.1:40002"))],
            services: services => services.AddSingleton<ILoggerProvider>(logs));
        using var client = proxy.CreateClient();

        await SendAsync(client, Remove("""{"n":1,"hostnames":["server9"]}"""));

        // The start-up warning (no key) and the refusal, naming who asked, what and why.
        Assert.Contains(logs.Messages, m => m.Contains("No admin key is configured", StringComparison.Ordinal));
        Assert.Contains(logs.Messages, m => m.Contains("Admin DELETE /rm from 127.0.0.1 (loopback, no key) refused with 404: <Error> Unknown server 'server9'", StringComparison.Ordinal));
    }
}
