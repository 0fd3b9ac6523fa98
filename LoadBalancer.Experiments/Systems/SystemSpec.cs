namespace LoadBalancer.Experiments.Systems;

/// <summary>What a run needs: how many servers and which balancing settings (null means the proxy's default).</summary>
/// <param name="Servers">Number of backend servers (AppHost's <c>LoadBalancer:Servers</c>).</param>
/// <param name="Algorithm">The proxy's <c>Balancing:Algorithm</c>, e.g. <c>Ring</c>, <c>Maglev</c>, <c>BoundedLoad</c>.</param>
/// <param name="HashFunction">The proxy's <c>Balancing:HashFunction</c>, e.g. <c>XxHash3</c>, <c>Assignment</c>.</param>
public sealed record SystemSpec(int Servers, string? Algorithm = null, string? HashFunction = null)
{
    /// <summary>The AppHost arguments that start this system.</summary>
    public IReadOnlyList<string> AppHostArguments()
    {
        var args = new List<string> { $"LoadBalancer:Servers={Servers}" };
        if (Algorithm is not null)
        {
            args.Add($"Proxy:Balancing:Algorithm={Algorithm}");
        }

        if (HashFunction is not null)
        {
            args.Add($"Proxy:Balancing:HashFunction={HashFunction}");
        }

        return args;
    }

    /// <inheritdoc />
    public override string ToString() =>
        $"N={Servers}" + (Algorithm is null ? "" : $", {Algorithm}") + (HashFunction is null ? "" : $"/{HashFunction}");
}

/// <summary>A running load balancer the experiments send requests to.</summary>
public interface ISystemUnderTest : IAsyncDisposable
{
    /// <summary>The proxy's base address (always a loopback address).</summary>
    Uri ProxyAddress { get; }

    /// <summary>The backend servers by name, or empty when unknown (a proxy given by URL).</summary>
    IReadOnlyList<string> Servers { get; }

    /// <summary>The proxy's admin key (<c>Authorization: Bearer</c>), or null when none is known.</summary>
    string? AdminKey { get; }

    /// <summary>Whether <see cref="StopServerAsync"/> and <see cref="StartServerAsync"/> work.</summary>
    bool CanControlServers { get; }

    /// <summary>Stops server <paramref name="name"/> deliberately.</summary>
    Task StopServerAsync(string name, CancellationToken cancellationToken);

    /// <summary>Starts server <paramref name="name"/> again.</summary>
    Task StartServerAsync(string name, CancellationToken cancellationToken);
}

/// <summary>Starts systems for runs: the real AppHost, or the one proxy given by URL.</summary>
public interface ISystemLauncher
{
    /// <summary>A short description for reports ("AppHost via Aspire.Hosting.Testing", "proxy at …").</summary>
    string Description { get; }

    /// <summary>Starts (or returns) a system matching <paramref name="spec"/>.</summary>
    /// <exception cref="ExperimentSkippedException">The launcher cannot provide such a system.</exception>
    /// <exception cref="SystemStartException">The system did not start, e.g. an unknown algorithm name.</exception>
    Task<ISystemUnderTest> StartAsync(SystemSpec spec, CancellationToken cancellationToken);
}

/// <summary>A run cannot be done with the chosen launcher (e.g. changing N on a proxy given by URL).</summary>
public sealed class ExperimentSkippedException(string message) : Exception(message);

/// <summary>The system did not start; the message says why and with which settings.</summary>
public sealed class SystemStartException(string message, Exception? inner = null) : Exception(message, inner);
