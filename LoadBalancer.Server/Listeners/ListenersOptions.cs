using System.ComponentModel.DataAnnotations;
using LoadBalancer.Server.Capacity;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Server.Listeners;

/// <summary>
/// A bench-only way to run many servers in one process (configuration section <c>Listeners</c>): with
/// <see cref="Count"/> above 0 the process listens on <see cref="Count"/> consecutive ports of 127.0.0.1 from
/// <see cref="FirstPort"/>, and the listener on <c>FirstPort + i - 1</c> answers as server <c>server{i}</c>, as that
/// many separate servers would. Off by default: with every setting at its default the server is exactly the
/// assignment's.
/// </summary>
public sealed class ListenersOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Listeners";

    /// <summary>The most listeners one process may open: a bench wants a hundred, not every port of the machine.</summary>
    public const int MaxCount = 1000;

    /// <summary>Listeners, each a server of its own; 0 (the default) means one server, as configured by <c>ASPNETCORE_URLS</c>.</summary>
    [Range(0, MaxCount, ErrorMessage = "Listeners:Count must be from 0 (off) to 1000.")]
    public int Count { get; set; }

    /// <summary>The port of <c>server1</c>; the others follow it, one port each.</summary>
    [Range(0, 65535, ErrorMessage = "Listeners:FirstPort must be from 1 to 65535.")]
    public int FirstPort { get; set; }

    /// <summary>True when the process runs many servers.</summary>
    public bool Enabled => Count > 0;

    /// <summary>The id of listener <paramref name="index"/> (0-based).</summary>
    public static string IdOf(int index) => $"server{index + 1}";
}

/// <summary>Cross-field rules of <see cref="ListenersOptions"/>, and the settings it cannot be combined with.</summary>
internal sealed class ListenersOptionsValidator(IOptions<CapacityOptions> capacity, IOptions<ServerOptions> server) : IValidateOptions<ListenersOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, ListenersOptions options)
    {
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        if (options.FirstPort == 0)
        {
            return ValidateOptionsResult.Fail($"Listeners:Count is {options.Count} but Listeners:FirstPort is not set; set it to the first of {options.Count} free ports.");
        }

        var last = options.FirstPort + options.Count - 1;
        if (last > 65535)
        {
            return ValidateOptionsResult.Fail($"Listeners:FirstPort {options.FirstPort} with Listeners:Count {options.Count} would need port {last}; the last port is 65535.");
        }

        // One process has one capacity gate and one h2c port: they would be shared by every listener, not be each
        // server's own, so the combination is refused rather than measured wrongly.
        if (capacity.Value.Enabled)
        {
            return ValidateOptionsResult.Fail("Listeners:Count cannot be combined with Capacity:* (one gate would serve every listener); run one process per bounded server instead.");
        }

        return server.Value.H2cPort is { } h2cPort
            ? ValidateOptionsResult.Fail($"Listeners:Count cannot be combined with Server:H2cPort ({h2cPort}); the listeners speak HTTP/1.1.")
            : ValidateOptionsResult.Success;
    }
}
