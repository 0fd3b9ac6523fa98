using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.Extensions.Configuration;

namespace LoadBalancer.Tests.Forwarding;

[Trait(TestCategories.Name, TestCategories.Unit)]
public sealed class InlineSocketCompletionsTests
{
    [Theory]
    [InlineData(null, null, true, "1")]
    [InlineData("true", null, true, "1")]
    [InlineData("false", null, false, null)]
    // A value already in the environment wins over configuration, either way.
    [InlineData("true", "0", false, "0")]
    [InlineData("false", "1", true, "1")]
    public void The_switch_follows_configuration_unless_the_environment_already_sets_it(string? configured, string? existing, bool inline, string? after)
    {
        var environment = new Dictionary<string, string>();
        if (existing is not null)
        {
            environment[InlineSocketCompletions.EnvironmentVariable] = existing;
        }

        var settings = new Dictionary<string, string?>();
        if (configured is not null)
        {
            settings[InlineSocketCompletions.ConfigurationKey] = configured;
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();

        var result = InlineSocketCompletions.Apply(configuration, name => environment.GetValueOrDefault(name), (name, value) => environment[name] = value);

        Assert.Equal(inline, result);
        Assert.Equal(after, environment.GetValueOrDefault(InlineSocketCompletions.EnvironmentVariable));
    }

    [Fact]
    public void The_proxy_as_shipped_sets_the_switch_in_an_environment_without_it()
    {
        // The configuration the proxy starts with (its appsettings.json, where the setting is not written: the default
        // is ForwardingOptions' own), in an environment that does not set the variable.
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(AppContext.BaseDirectory, TestHost.ProxyAppSettings), optional: false)
            .Build();
        var environment = new Dictionary<string, string>();

        var inline = InlineSocketCompletions.Apply(configuration, name => environment.GetValueOrDefault(name), (name, value) => environment[name] = value);

        Assert.True(inline);
        Assert.Equal("1", environment[InlineSocketCompletions.EnvironmentVariable]);
    }
}
