using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Membership;
using LoadBalancer.Proxy.Telemetry;
using LoadBalancer.Tests.Infrastructure;
using LoadBalancer.Tests.Telemetry;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;

namespace LoadBalancer.Tests.Browser;

[Trait(TestCategories.Name, TestCategories.Browser)]
public sealed class RingPageBrowserTests
{
    // Debian's chromium as it is: no browser download, no sandbox (root in CI), no network beyond loopback.
    private static readonly string[] ChromiumArgs =
    [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
    ];

    [ChromiumFact]
    public async Task The_live_ring_page_renders_every_server_with_its_health_and_load()
    {
        var (proxy, hosts) = await TelemetryTestKit.StartAsync(4);
        await using var _ = proxy;
        var profile = Directory.CreateTempSubdirectory("lb-chromium-");
        try
        {
            using (var client = proxy.CreateClient())
            {
                for (var i = 0; i < 200; i++)
                {
                    using var response = await client.GetAsync($"/home?id=page-{i}");
                    Assert.Equal(HttpStatusCode.OK, response.StatusCode);
                }
            }

            // One server held out, as an open circuit breaker would (the active health probes, which find it well, leave
            // that reason alone): the page must show it down and its arcs grey.
            var servers = proxy.App.Services.GetRequiredService<TableState>().Current!.Table.Servers;
            servers.Single(m => m.Name == "server4").SetUnavailable(UnavailableReasons.CircuitBreaker, true);

            using var playwright = await Playwright.CreateAsync();
            await using var browser = await playwright.Chromium.LaunchPersistentContextAsync(profile.FullName, new BrowserTypeLaunchPersistentContextOptions
            {
                ExecutablePath = ChromiumFactAttribute.ExecutablePath,
                Headless = true,
                Args = ChromiumArgs,
                ViewportSize = new ViewportSize { Width = 1560, Height = 480 },
                ColorScheme = ColorScheme.Light,
                Timeout = 60_000,
            });
            var page = browser.Pages.Count > 0 ? browser.Pages[0] : await browser.NewPageAsync();
            page.SetDefaultTimeout(60_000);

            await page.GotoAsync(new Uri(proxy.Address, RingEndpoints.ViewPath).ToString());
            await page.WaitForFunctionAsync("() => document.querySelectorAll('tr[data-server]').length === 4");

            foreach (var server in servers)
            {
                var row = page.Locator($"tr[data-server='{server.Name}']");
                Assert.Equal(server.Name, await row.Locator(".name").InnerTextAsync());
                Assert.Equal(server.Served.ToString(System.Globalization.CultureInfo.InvariantCulture), await row.Locator(".served").InnerTextAsync());
                Assert.Equal(server.Name == "server4" ? "down: CircuitBreaker" : "healthy", await row.Locator(".badge").InnerTextAsync());
            }

            // The ring: one arc per point (4 servers × their virtual nodes; arcs across zero are drawn in two parts),
            // one load arc per server.
            var points = 4 * BalancingOptions.DefaultVirtualNodes;
            Assert.InRange(await page.Locator("#arcs path").CountAsync(), points, points + 2);
            Assert.Equal(4, await page.Locator("#load path").CountAsync());
            Assert.Contains("3/4 healthy", await page.Locator("#summary").InnerTextAsync(), StringComparison.Ordinal);

            // Into the test output, so a test run leaves the working tree as it was; UPDATE_DOCS_IMAGES=1 refreshes the
            // picture in docs/observability.md instead.
            var screenshot = Environment.GetEnvironmentVariable(UpdateDocsVariable) == "1"
                ? Path.Combine(Compose.AppHostManifest.RepositoryRoot, "docs", "images", "ring.png")
                : Path.Combine(AppContext.BaseDirectory, "ring.png");
            Directory.CreateDirectory(Path.GetDirectoryName(screenshot)!);
            await page.ScreenshotAsync(new PageScreenshotOptions { Path = screenshot, FullPage = true });
            Assert.True(new FileInfo(screenshot).Length > 10_000);
        }
        finally
        {
            foreach (var host in hosts)
            {
                await host.DisposeAsync();
            }

            profile.Delete(recursive: true);
        }
    }

    private const string UpdateDocsVariable = "UPDATE_DOCS_IMAGES";
}
