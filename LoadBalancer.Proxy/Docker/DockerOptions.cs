using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Docker;

/// <summary>
/// Docker as the engine that runs the servers (configuration section <c>Docker</c>, used with
/// <c>Provisioning:Engine=Docker</c>): where the Docker Engine API is, which containers are this stack's servers,
/// and the limits of <c>/add</c>. docker-compose.provisioning.yml sets what compose needs (docs/deployment.md).
/// </summary>
public sealed class DockerOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Docker";

    /// <summary>The Docker Engine API: the socket mounted into the proxy's container, or an http address (a test's fake).</summary>
    public Uri Endpoint { get; set; } = new("unix:///var/run/docker.sock");

    /// <summary>
    /// The stack whose servers these are (the value of the <c>loadbalancer.group</c> label, or of compose's project
    /// label on compose-defined servers); empty = the compose project of the proxy's own container.
    /// </summary>
    [RegularExpression("^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", ErrorMessage = "Docker:Group must be a name Docker accepts: letters, digits, '_', '.', '-'.")]
    public string? Group { get; set; }

    /// <summary>The network the servers are reached on and new ones join; empty = the proxy's own container's (compose's project network).</summary>
    [RegularExpression("^[a-zA-Z0-9][a-zA-Z0-9_.-]*$", ErrorMessage = "Docker:Network must be a network name Docker accepts: letters, digits, '_', '.', '-'.")]
    public string? Network { get; set; }

    /// <summary>The image new servers are created from; empty = the image of the server container they are copied from.</summary>
    public string? Image { get; set; }

    /// <summary>How many server containers the stack may have at most (running or not): <c>/add</c> beyond it answers 400.</summary>
    [Range(1, 1000)]
    public int MaxServers { get; set; } = 16;

    /// <summary>The port each server answers HTTP/1.1 on inside its container.</summary>
    [Range(1, 65535)]
    public int HttpPort { get; set; } = 8080;

    /// <summary>The port each server answers HTTP/2 without TLS (h2c) on; 0 = none.</summary>
    [Range(0, 65535)]
    public int H2cPort { get; set; } = 8081;

    /// <summary>How long <c>/rm</c>'s stop waits for a server's process to end after SIGTERM before Docker kills it.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "00:05:00")]
    public TimeSpan StopTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long one call to the Docker API (a list, a create) may take.</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long the server list may go without an event before it is listed again anyway (a silent event stream).</summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "01:00:00")]
    public TimeSpan ResyncInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>The first wait before reconnecting after the engine was lost; doubled after each failure up to <see cref="MaxRetryDelay"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:05:00")]
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between reconnection attempts.</summary>
    [Range(typeof(TimeSpan), "00:00:00.010", "00:10:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);
}

/// <summary>The rules that span fields: an endpoint Docker.DotNet can talk to, and retry delays in order.</summary>
internal sealed class DockerOptionsValidator : IValidateOptions<DockerOptions>
{
    public ValidateOptionsResult Validate(string? name, DockerOptions options)
    {
        if (options.Endpoint is not { IsAbsoluteUri: true } endpoint || endpoint.Scheme is not ("unix" or "http" or "https" or "tcp"))
        {
            return ValidateOptionsResult.Fail($"Docker:Endpoint must be the Docker Engine API's unix:// socket or an http(s)/tcp address; '{options.Endpoint}' is not.");
        }

        if (options.HttpPort == options.H2cPort)
        {
            return ValidateOptionsResult.Fail($"Docker:HttpPort and Docker:H2cPort must differ (both are {options.HttpPort}).");
        }

        return options.MaxRetryDelay < options.RetryDelay
            ? ValidateOptionsResult.Fail($"Docker:MaxRetryDelay ({options.MaxRetryDelay}) must be at least Docker:RetryDelay ({options.RetryDelay}).")
            : ValidateOptionsResult.Success;
    }
}
