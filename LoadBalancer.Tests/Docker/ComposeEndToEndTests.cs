using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using LoadBalancer.Tests.EndToEnd;
using LoadBalancer.Tests.Infrastructure;
using Xunit.Abstractions;

namespace LoadBalancer.Tests.Docker;

/// <summary>
/// The committed docker-compose.yml, built and run on a real Docker engine, checked through the proxy's published
/// port on 127.0.0.1 only: routing and stickiness, the admin API, a server stopped under load and started again, a
/// server's process crashing inside its container, telemetry reaching the dashboard, and nothing left after
/// <c>down -v</c>. One stack for the whole walk: building it is the slow part.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Docker)]
[Collection(EndToEndCollection.Name)]
public sealed class ComposeEndToEndTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Generous = TimeSpan.FromMinutes(2);
    private static readonly string[] Servers = ["server1", "server2", "server3"];

    [DockerFact]
    public async Task The_compose_system_balances_survives_a_stop_and_a_crash_exports_traces_and_leaves_nothing_behind()
    {
        var stack = await ComposeStack.UpAsync(output);
        try
        {
            using var client = stack.CreateProxyClient();
            await stack.WaitForProxyAsync(client, Generous);
            foreach (var server in Servers)
            {
                await KeyLoad.WaitForProxyStateAsync(client, server, "up", Generous);
            }

            var keys = Keys.Random(300, seed: 14);
            var owners = await DistributionAsync(client, keys);
            await StickinessAsync(client, keys[0], owners[keys[0]]);
            await AdminApiAsync(client, stack.AdminKey);
            await StopUnderLoadAsync(stack, client, keys, owners, victim: "server2");
            await CrashAsync(stack, client, keys, owners, victim: "server3");
            await TracesAsync(stack);
        }
        catch
        {
            await stack.LogTailAsync();
            throw;
        }
        finally
        {
            await stack.DisposeAsync();
        }

        Assert.Empty(await stack.LeftoversAsync());
    }

    // 300 distinct ids reach all three servers, each 20 %..47 % of them.
    private async Task<Dictionary<string, string>> DistributionAsync(HttpClient client, string[] keys)
    {
        var owners = await KeyLoad.OwnersAsync(client, keys);
        var shares = owners.Values.GroupBy(s => s).ToDictionary(g => g.Key, g => g.Count());
        output.WriteLine($"300 ids: {string.Join(", ", shares.OrderBy(s => s.Key).Select(s => $"{s.Key} {s.Value}"))}");
        Assert.Equal(Servers, shares.Keys.Order());
        Assert.All(shares, s => Assert.InRange(s.Value, keys.Length * 20 / 100, keys.Length * 47 / 100));
        return owners;
    }

    private static async Task StickinessAsync(HttpClient client, string key, string owner)
    {
        for (var i = 0; i < 20; i++)
        {
            using var response = await client.GetAsync($"/home?id={key}");
            response.EnsureSuccessStatusCode();
            Assert.Equal(owner, ProxyProbe.ServerOf(response));
        }
    }

    // /rep answers the replicas with the generated key, and refuses a caller without it (the test is not on the
    // container's loopback).
    private static async Task AdminApiAsync(HttpClient client, string adminKey)
    {
        using (var refused = await client.GetAsync("/rep"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using var request = new HttpRequestMessage(HttpMethod.Get, "/rep");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", adminKey);
        using var response = await client.SendAsync(request);
        response.EnsureSuccessStatusCode();
        var body = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(3, body.GetProperty("message").GetProperty("N").GetInt32());
        Assert.Equal(Servers, body.GetProperty("message").GetProperty("replicas").EnumerateArray().Select(r => r.GetString()).Order());
    }

    // `docker-compose stop` under load: no request fails, only the stopped server's keys move, and they come back
    // after `docker-compose start`.
    private async Task StopUnderLoadAsync(ComposeStack stack, HttpClient client, string[] keys, Dictionary<string, string> owners, string victim)
    {
        await using var load = KeyLoad.Start(client, keys, minimumRequests: 3_000);
        await load.WaitForAsync(500);

        var stopwatch = Stopwatch.StartNew();
        await stack.ComposeAsync("stop", victim);
        await KeyLoad.WaitForProxyStateAsync(client, victim, "down", Generous);
        output.WriteLine($"{victim} stopped and marked down in {stopwatch.ElapsedMilliseconds} ms");
        await load.WaitForAsync(load.Count + 1_000);
        Assert.Equal("exited", await stack.InspectAsync(victim, "{{.State.Status}}"));

        await stack.ComposeAsync("start", victim);
        await KeyLoad.WaitForProxyStateAsync(client, victim, "up", Generous);
        output.WriteLine($"{victim} started and back up after {stopwatch.ElapsedMilliseconds} ms");
        await load.WaitForAsync(load.Count + 500);
        var records = await load.StopAsync();
        output.WriteLine($"{records.Count} requests under the stop; failures: {load.Failures.Count}");

        Assert.Empty(load.Failures);
        Assert.All(records.Where(r => owners[r.Key] != victim), r => Assert.Equal(owners[r.Key], r.Server));
        Assert.Contains(records, r => owners[r.Key] == victim && r.Server != victim);
        Assert.Equal(owners, await KeyLoad.OwnersAsync(client, keys));
    }

    // The server's process dies inside its container (SIGKILL from the host to the container's pid 1, as the kernel's
    // OOM killer would: `docker kill` or `docker-compose kill` would count as a manual stop). Compose's restart policy
    // starts it again, and it rejoins with its keys.
    private async Task CrashAsync(ComposeStack stack, HttpClient client, string[] keys, Dictionary<string, string> owners, string victim)
    {
        var restarts = int.Parse(await stack.InspectAsync(victim, "{{.RestartCount}}"), System.Globalization.CultureInfo.InvariantCulture);
        var pid = int.Parse(await stack.InspectAsync(victim, "{{.State.Pid}}"), System.Globalization.CultureInfo.InvariantCulture);
        using (var process = Process.GetProcessById(pid))
        {
            process.Kill();
        }

        var waited = Stopwatch.StartNew();
        while (int.Parse(await stack.InspectAsync(victim, "{{.RestartCount}}"), System.Globalization.CultureInfo.InvariantCulture) == restarts)
        {
            Assert.True(waited.Elapsed < Generous,
                $"{victim} was not restarted within {Generous} of its process dying (state: {await stack.InspectAsync(victim, "{{.State.Status}} exit {{.State.ExitCode}}")})");
            await Task.Delay(250);
        }

        Assert.NotEqual(pid.ToString(System.Globalization.CultureInfo.InvariantCulture), await stack.InspectAsync(victim, "{{.State.Pid}}"));
        // The restart can be quicker than the probes: /health may still say "up" from before the crash while the new
        // process is not listening yet (its keys answered by the next server), so wait for the keys themselves.
        Assert.Equal(owners, await KeyLoad.WaitForOwnersAsync(client, keys, owners, Generous));
        output.WriteLine($"{victim}: pid {pid} killed, restarted by its policy (restart count {restarts} → {restarts + 1}), rejoined");
    }

    // The dashboard's telemetry API lists the proxy and every server as resources with traces (OTLP/gRPC over the
    // compose network).
    private async Task TracesAsync(ComposeStack stack)
    {
        using var dashboard = stack.CreateDashboardClient();
        string[] expected = ["proxy", .. Servers];
        using var cts = new CancellationTokenSource(Generous);
        var withTraces = Array.Empty<string>();
        while (!cts.IsCancellationRequested)
        {
            try
            {
                var resources = await dashboard.GetFromJsonAsync<JsonElement>("/api/telemetry/resources", cts.Token);
                withTraces = [.. resources.EnumerateArray().Where(r => r.GetProperty("hasTraces").GetBoolean()).Select(r => r.GetProperty("name").GetString()!).Order()];
                if (expected.All(withTraces.Contains))
                {
                    break;
                }
            }
            catch (HttpRequestException)
            {
                // Not listening yet.
            }

            await Task.Delay(500, CancellationToken.None);
        }

        output.WriteLine($"dashboard resources with traces: {string.Join(", ", withTraces)}");
        var missing = expected.Except(withTraces).ToList();
        Assert.True(missing.Count == 0,
            $"the dashboard has no traces from {string.Join(", ", missing)} after {Generous} (it has: {string.Join(", ", withTraces)})");
    }
}
