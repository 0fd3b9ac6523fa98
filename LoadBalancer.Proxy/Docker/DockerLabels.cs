namespace LoadBalancer.Proxy.Docker;

/// <summary>
/// The labels that make a container a server of a stack (public: tools/LoadBalancer.ComposeGen writes them into
/// docker-compose.provisioning.yml, and the Docker tests find containers by them).
/// </summary>
public static class DockerLabels
{
    /// <summary>The label that makes a container a server: its value is the server's ring name.</summary>
    public const string Server = "loadbalancer.server";

    /// <summary>The label naming the stack of a server the proxy created (compose-defined ones carry compose's project label instead).</summary>
    public const string Group = "loadbalancer.group";
}
