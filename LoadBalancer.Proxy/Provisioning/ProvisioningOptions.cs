using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Provisioning;

/// <summary>
/// Which engine runs the servers, if any (configuration section <c>Provisioning</c>). With one, membership is the
/// engine's list of servers and <c>POST /add</c>, <c>DELETE /rm</c> start and stop servers through it, so every proxy
/// replica that watches the same engine builds the same table; with none, the proxy keeps membership itself.
/// </summary>
public sealed class ProvisioningOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Provisioning";

    /// <summary><c>None</c> (servers from configuration and discovery, changed in the proxy only), <c>AppHost</c>, <c>Kubernetes</c> or <c>Docker</c>.</summary>
    public ProvisioningEngine Engine { get; set; } = ProvisioningEngine.None;

    /// <summary>The engine's address: for <c>AppHost</c>, its provisioning API (the AppHost sets it).</summary>
    public Uri? Address { get; set; }

    /// <summary>The key the engine's API demands (the AppHost generates one per run and sets it).</summary>
    public string? Key { get; set; }

    /// <summary>How long <c>POST /add</c> waits for new servers to be healthy and in the table before it stops them again and fails.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:10:00")]
    public TimeSpan StartTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>
    /// How long <c>DELETE /rm</c> leaves a server running after every proxy has stopped sending it new requests, for
    /// the requests in flight to finish.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:10:00")]
    public TimeSpan DrainTime { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long to wait before asking the engine again after it could not be reached.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);
}

/// <summary>What runs the servers.</summary>
public enum ProvisioningEngine
{
    /// <summary>Nothing the proxy can ask: membership is the proxy's own (configuration, discovery, admin changes).</summary>
    None,

    /// <summary>The Aspire AppHost's server pool, through its provisioning API.</summary>
    AppHost,

    /// <summary>The servers' StatefulSet, scaled through the Kubernetes API (needs <c>Kubernetes:Enabled</c>).</summary>
    Kubernetes,

    /// <summary>Server containers on a Docker engine, through the Docker Engine API (the <c>Docker:*</c> settings).</summary>
    Docker,
}

/// <summary>The rules that span fields: the AppHost engine needs its address and key.</summary>
internal sealed class ProvisioningOptionsValidator : IValidateOptions<ProvisioningOptions>
{
    public ValidateOptionsResult Validate(string? name, ProvisioningOptions options)
    {
        // Kubernetes and Docker reach their engines with the Kubernetes:* and Docker:* settings, not these.
        if (options.Engine is ProvisioningEngine.None or ProvisioningEngine.Kubernetes or ProvisioningEngine.Docker)
        {
            return ValidateOptionsResult.Success;
        }

        if (options.Address is not { IsAbsoluteUri: true } address || (address.Scheme != Uri.UriSchemeHttp && address.Scheme != Uri.UriSchemeHttps))
        {
            return ValidateOptionsResult.Fail($"Provisioning:Address must be the engine's absolute http(s) address when Provisioning:Engine is {options.Engine}.");
        }

        return string.IsNullOrEmpty(options.Key)
            ? ValidateOptionsResult.Fail($"Provisioning:Key must be set when Provisioning:Engine is {options.Engine}.")
            : ValidateOptionsResult.Success;
    }
}
