using System.ComponentModel.DataAnnotations;
using k8s;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Kubernetes;

/// <summary>
/// Membership from the Kubernetes API (configuration section <c>Kubernetes</c>): the ready endpoints of the servers'
/// headless Service, from its EndpointSlices, instead of service discovery. The generated manifests turn it on
/// (deploy/kubernetes, docs/kubernetes.md).
/// </summary>
public sealed class KubernetesOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Kubernetes";

    /// <summary>Whether the servers come from the Kubernetes API (and not from service discovery).</summary>
    public bool Enabled { get; set; }

    /// <summary>The namespace of the servers' Service; empty = the proxy pod's own (its service account's).</summary>
    [RegularExpression("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$", ErrorMessage = "Kubernetes:Namespace must be a DNS label: lower-case letters, digits and '-', at most 63.")]
    public string? Namespace { get; set; }

    /// <summary>The servers' headless Service: its EndpointSlices carry the label <c>kubernetes.io/service-name</c> with this value.</summary>
    [Required]
    [RegularExpression("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", ErrorMessage = "Kubernetes:ServiceName must be a DNS label starting with a letter: lower-case letters, digits and '-', at most 63.")]
    public string ServiceName { get; set; } = "server";

    /// <summary>
    /// The servers' StatefulSet, whose scale <c>/add</c> and <c>/rm</c> change when <c>Provisioning:Engine</c> is
    /// <c>Kubernetes</c>; its pods (<c>server-0</c>, …) are the Service's endpoints.
    /// </summary>
    [Required]
    [RegularExpression("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", ErrorMessage = "Kubernetes:StatefulSetName must be a DNS label starting with a letter: lower-case letters, digits and '-', at most 63.")]
    public string StatefulSetName { get; set; } = "server";

    /// <summary>
    /// The API server to use instead of the pod's in-cluster one (its service account token and CA), e.g.
    /// <c>http://127.0.0.1:8001</c> for <c>kubectl proxy</c> or a test's fake; sent without credentials.
    /// </summary>
    public Uri? ApiServer { get; set; }

    /// <summary>How long one watch may stay open before the server ends it and the proxy watches again from where it was.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "00:30:00")]
    public TimeSpan WatchTimeout { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How long one list of the EndpointSlices may take.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The first wait before reconnecting after the API was lost; doubled after each failure up to <see cref="MaxRetryDelay"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:05:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between reconnection attempts.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>The rules that span fields, or the environment: an API server the proxy can reach with credentials.</summary>
internal sealed class KubernetesOptionsValidator : IValidateOptions<KubernetesOptions>
{
    public ValidateOptionsResult Validate(string? name, KubernetesOptions options)
    {
        if (!options.Enabled)
        {
            return ValidateOptionsResult.Success;
        }

        if (options.ApiServer is { } server && (!server.IsAbsoluteUri || server.Scheme is not ("http" or "https")))
        {
            return ValidateOptionsResult.Fail($"Kubernetes:ApiServer must be an absolute http(s) address; '{server}' is not.");
        }

        if (options.ApiServer is null && !KubernetesClientConfiguration.IsInCluster())
        {
            return ValidateOptionsResult.Fail(
                "Kubernetes:Enabled is true but the proxy is not running in a Kubernetes pod (no KUBERNETES_SERVICE_HOST or service account token): " +
                "set Kubernetes:ApiServer (e.g. http://127.0.0.1:8001 for kubectl proxy) or turn Kubernetes:Enabled off.");
        }

        return options.MaxRetryDelay < options.RetryDelay
            ? ValidateOptionsResult.Fail($"Kubernetes:MaxRetryDelay ({options.MaxRetryDelay}) must be at least Kubernetes:RetryDelay ({options.RetryDelay}).")
            : ValidateOptionsResult.Success;
    }
}
