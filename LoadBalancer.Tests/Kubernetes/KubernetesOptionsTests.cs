using LoadBalancer.Tests.Infrastructure;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Tests.Kubernetes;

/// <summary>Bad Kubernetes settings stop the proxy at start with a message naming the setting.</summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class KubernetesOptionsTests
{
    [Fact]
    public async Task Enabled_outside_a_pod_without_an_API_server_is_refused_naming_ApiServer()
    {
        Assert.Null(Environment.GetEnvironmentVariable("KUBERNETES_SERVICE_HOST"));

        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(new() { ["Kubernetes:Enabled"] = "true" }));

        Assert.Contains("Kubernetes:ApiServer", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Kubernetes:ServiceName", "Server_1", "Kubernetes:ServiceName must be a DNS label")]
    [InlineData("Kubernetes:StatefulSetName", "Server_1", "Kubernetes:StatefulSetName must be a DNS label")]
    [InlineData("Kubernetes:Namespace", "-bad", "Kubernetes:Namespace must be a DNS label")]
    [InlineData("Kubernetes:ApiServer", "/relative", "Kubernetes:ApiServer must be an absolute http(s) address")]
    [InlineData("Kubernetes:MaxRetryDelay", "00:00:00.020", "Kubernetes:MaxRetryDelay (00:00:00.0200000) must be at least Kubernetes:RetryDelay")]
    public async Task A_bad_value_is_refused_naming_the_setting(string setting, string value, string message)
    {
        var error = await Assert.ThrowsAsync<OptionsValidationException>(() => StartAsync(new()
        {
            ["Kubernetes:Enabled"] = "true",
            ["Kubernetes:ApiServer"] = "http://127.0.0.1:9",
            [setting] = value,
        }));

        Assert.Contains(message, error.Message, StringComparison.Ordinal);
    }

    private static async Task StartAsync(Dictionary<string, string?> settings)
    {
        await using var proxy = await TestHost.StartProxyAsync([], settings);
    }
}
