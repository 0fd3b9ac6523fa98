namespace LoadBalancer.Tests.Infrastructure;

/// <summary>Proxy settings for tests about what the request path does by itself.</summary>
public static class ProxySettings
{
    /// <summary>Active probes off, plus <paramref name="extra"/>.</summary>
    public static Dictionary<string, string?> WithoutProbes(params (string Key, string Value)[] extra)
    {
        var settings = new Dictionary<string, string?> { ["Health:Enabled"] = "false" };
        foreach (var (key, value) in extra)
        {
            settings[key] = value;
        }

        return settings;
    }
}
