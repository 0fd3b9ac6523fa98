namespace LoadBalancer.Tests.Infrastructure;

/// <summary>
/// The cost of a test class, as the trait <c>Category</c> (every class carries one: <see cref="TestCategoryTests"/>),
/// so a developer can run the cheap ones alone: <c>dotnet test --filter Category=Unit</c>.
/// </summary>
public static class TestCategories
{
    /// <summary>The trait's name.</summary>
    public const string Name = "Category";

    /// <summary>In-process: no sockets (or only in-memory hosts), well under a second each.</summary>
    public const string Unit = "Unit";

    /// <summary>Real servers, proxies or processes on 127.0.0.1.</summary>
    public const string Integration = "Integration";

    /// <summary>The Aspire AppHost, started with Aspire.Hosting.Testing (or by the experiments tool).</summary>
    public const string EndToEnd = "EndToEnd";

    /// <summary>Headless Chromium.</summary>
    public const string Browser = "Browser";

    /// <summary>A Docker engine (the images and the compose file).</summary>
    public const string Docker = "Docker";

    /// <summary>Every category.</summary>
    public static IReadOnlyList<string> All { get; } = [Unit, Integration, EndToEnd, Browser, Docker];
}
