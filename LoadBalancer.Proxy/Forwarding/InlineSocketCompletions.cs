namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// Turns on the runtime's inline socket completions for the proxy process, as <see cref="ForwardingOptions.InlineSocketCompletions"/> asks.
/// </summary>
/// <remarks>
/// <para>By default .NET hands every socket completion from the epoll thread to the thread pool: for a proxy that is a
/// thread hop, and about two context switches, per request. Inline, the forwarding code runs on the epoll thread itself,
/// which pays when nothing on the request path blocks (nothing here does). Measured in <c>bench/results/profile.md</c>:
/// about a quarter fewer context switches, 8 % less CPU and 6 % more throughput per request.</para>
/// <para>The runtime reads <see cref="EnvironmentVariable"/> once, when the first socket is used, and only from the
/// environment: so it is set before the host starts, and a value already in the environment is left as it is.</para>
/// </remarks>
public static class InlineSocketCompletions
{
    /// <summary>The runtime's switch.</summary>
    public const string EnvironmentVariable = "DOTNET_SYSTEM_NET_SOCKETS_INLINE_COMPLETIONS";

    /// <summary>The configuration key, <c>Forwarding:InlineSocketCompletions</c>.</summary>
    public const string ConfigurationKey = ForwardingOptions.SectionName + ":" + nameof(ForwardingOptions.InlineSocketCompletions);

    /// <summary>Sets the switch in this process's environment when configured to and not set already.</summary>
    /// <returns>Whether completions will run inline.</returns>
    public static bool Apply(IConfiguration configuration) =>
        Apply(configuration, Environment.GetEnvironmentVariable, Environment.SetEnvironmentVariable);

    /// <summary>The same over a given environment (tests must not switch it for their own process).</summary>
    public static bool Apply(IConfiguration configuration, Func<string, string?> read, Action<string, string> write)
    {
        if (read(EnvironmentVariable) is { } existing)
        {
            return existing == "1";
        }

        // Bound like the options themselves, so the default is ForwardingOptions' own.
        var options = configuration.GetSection(ForwardingOptions.SectionName).Get<ForwardingOptions>() ?? new ForwardingOptions();
        if (!options.InlineSocketCompletions)
        {
            return false;
        }

        write(EnvironmentVariable, "1");
        return true;
    }
}
