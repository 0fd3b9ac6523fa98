using System.Text.Json;
using LoadBalancer.Proxy.Admin;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Membership;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using static LoadBalancer.Tests.Admin.AdminCalls;

namespace LoadBalancer.Tests.Admin;

/// <summary><c>Admin:StateFile</c>: admin changes outlive the proxy, a bad file never stops it, a change it cannot save is not made.</summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class AdminStateFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("lb-state-").FullName;
    private readonly LogCollector _logs = new();

    private string StatePath => Path.Combine(_directory, "membership.json");

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private MembershipManager Start(TableState state) => new(
        state,
        Options.Create(new BalancingOptions()),
        NullLogger<MembershipManager>.Instance,
        new AdminStateFile(Options.Create(new AdminOptions { StateFile = StatePath }), new Logger<AdminStateFile>(new LoggerFactory([_logs]))));

    private static Dictionary<string, Uri> Discovered(params int[] servers) =>
        servers.ToDictionary(i => $"server{i}", i => new Uri($"http://127.0.0.1:{40000 + i}/"));

    private static ServerReference[] Refs(params string[] hostnames) => hostnames.Select(AdminRequestReader.ToReference).ToArray();

    [Fact]
    public void A_restarted_proxy_starts_with_the_changes_the_last_one_made()
    {
        var before = Start(new TableState());
        before.SetDiscovered(Discovered(1, 2, 3));
        Assert.True(before.Remove(Refs("server2"), 1, new Random(1)).Applied);
        Assert.True(before.Add(Refs("http://127.0.0.1:6001"), 1).Applied);

        var state = new TableState();
        var after = Start(state);
        after.SetDiscovered(Discovered(1, 2, 3));

        Assert.Equal(["127.0.0.1:6001", "server1", "server3"], after.CurrentServers);
        Assert.Equal(new Uri("http://127.0.0.1:6001/"), state.Current!.Table.Servers[0].Address);
        Assert.Contains(_logs.Messages, m => m.Contains("1 server(s) added by address, 1 removed", StringComparison.Ordinal));
        // Readable by an operator: the two sets, nothing else.
        using var file = JsonDocument.Parse(File.ReadAllText(StatePath));
        Assert.Equal(1, file.RootElement.GetProperty("version").GetInt32());
        Assert.Equal("http://127.0.0.1:6001/", file.RootElement.GetProperty("added").GetProperty("127.0.0.1:6001").GetString());
        Assert.Equal("server2", Assert.Single(file.RootElement.GetProperty("removed").EnumerateArray()).GetString());
    }

    [Fact]
    public void Bringing_a_server_back_is_saved_too()
    {
        var before = Start(new TableState());
        before.SetDiscovered(Discovered(1, 2, 3));
        before.Remove(Refs("server2"), 1, new Random(1));
        Assert.True(before.Add(Refs("server2"), 1).Applied);

        var after = Start(new TableState());
        after.SetDiscovered(Discovered(1, 2, 3));

        Assert.Equal(["server1", "server2", "server3"], after.CurrentServers);
    }

    [Theory]
    [InlineData("{not json")]
    [InlineData("""{"version":2,"added":{},"removed":[]}""")]
    [InlineData("""{"version":1,"added":{"x":"ftp://127.0.0.1/"},"removed":[]}""")]
    [InlineData("""{"version":1,"added":{},"removed":[""]}""")]
    [InlineData("null")]
    public void A_file_that_makes_no_sense_is_logged_and_ignored_and_the_next_change_replaces_it(string content)
    {
        File.WriteAllText(StatePath, content);

        var manager = Start(new TableState());
        manager.SetDiscovered(Discovered(1, 2, 3));

        Assert.Equal(["server1", "server2", "server3"], manager.CurrentServers);
        Assert.Contains(_logs.Messages, m => m.StartsWith($"The admin state file {StatePath} could not be read and is ignored", StringComparison.Ordinal));

        Assert.True(manager.Remove(Refs("server1"), 1, new Random(1)).Applied);
        var again = Start(new TableState());
        again.SetDiscovered(Discovered(1, 2, 3));
        Assert.Equal(["server2", "server3"], again.CurrentServers);
    }

    [Fact]
    public void A_change_that_cannot_be_saved_is_refused_and_changes_nothing()
    {
        var manager = Start(new TableState());
        manager.SetDiscovered(Discovered(1, 2, 3));
        Directory.CreateDirectory(StatePath); // a directory where the file should go: the move over it fails

        var edit = manager.Remove(Refs("server2"), 1, new Random(1));

        Assert.False(edit.Applied);
        Assert.Equal(StatusCodes.Status500InternalServerError, edit.StatusCode);
        // The reason (the IOException's text, with the path) goes to the log only, not into the error body.
        Assert.Equal("<Error> The change could not be saved to the admin state file (see the proxy's log, event 512); nothing was changed", edit.Error);
        Assert.Equal(["server1", "server2", "server3"], manager.CurrentServers);
        Assert.Contains(_logs.Messages, m => m.StartsWith($"An admin change could not be saved to {StatePath}", StringComparison.Ordinal));

        Directory.Delete(StatePath);
        Assert.True(manager.Remove(Refs("server2"), 1, new Random(1)).Applied);
    }

    [Fact]
    public async Task Through_the_api_a_removal_outlives_the_proxy()
    {
        var settings = new Dictionary<string, string?> { ["Admin:StateFile"] = StatePath, ["Health:Enabled"] = "false" };
        await using (var first = await StartProxyAsync(3, settings))
        {
            using var client = first.CreateClient();
            Assert.Equal(HttpStatusCode.OK, (await SendAsync(client, Remove("""{"n":1,"hostnames":["server3"]}"""))).Status);
        }

        await using var second = await StartProxyAsync(3, settings);
        using var again = second.CreateClient();

        AssertJson(Replicas("server1", "server2"), (await SendAsync(again, Rep())).Body);
    }

    [Theory]
    [InlineData("missing-directory/membership.json")]
    [InlineData("")] // replaced by the temporary directory itself: a directory is not a file
    public async Task A_state_file_that_cannot_be_a_file_stops_the_proxy_at_start(string relative)
    {
        var path = relative.Length == 0 ? _directory : Path.Combine(_directory, relative);

        var error = await Record.ExceptionAsync(() => StartProxyAsync(1, new Dictionary<string, string?> { ["Admin:StateFile"] = path }));

        var validation = Assert.IsType<OptionsValidationException>(error);
        Assert.Contains($"Admin:StateFile '{path}' must name a file in an existing directory", validation.Message, StringComparison.Ordinal);
    }
}
