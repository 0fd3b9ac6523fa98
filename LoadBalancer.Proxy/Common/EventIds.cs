namespace LoadBalancer.Proxy.Common;

/// <summary>
/// The event id ranges of the proxy's logs, one hundred per area (the folder that logs them): the one source for them.
/// Every <c>[LoggerMessage]</c> of an area takes its <c>EventId</c> from the area's range (a test in
/// LoadBalancer.Tests/Common checks each against this table); docs/observability.md links here.
/// </summary>
public static class EventIds
{
    /// <summary>Membership/: discovery and ring changes (1xx).</summary>
    public const int Membership = 100;

    /// <summary>Forwarding/: attempts, retries, hedges, refusals (2xx).</summary>
    public const int Forwarding = 200;

    /// <summary>Health/: probes, breakers, availability (3xx).</summary>
    public const int Health = 300;

    /// <summary>Admin/: the admin API and its state file (5xx).</summary>
    public const int Admin = 500;

    /// <summary>Telemetry/: remapped keys, exporters (6xx).</summary>
    public const int Telemetry = 600;

    /// <summary>Connections/: the connection limit and descriptors (7xx).</summary>
    public const int Connections = 700;

    /// <summary>Provisioning/: the engine that runs the servers, starting and stopping them (8xx).</summary>
    public const int Provisioning = 800;

    /// <summary>The size of every range.</summary>
    public const int RangeSize = 100;

    /// <summary>Each area's first id, by the folder (namespace) name that logs in it.</summary>
    public static IReadOnlyDictionary<string, int> ByArea { get; } = new Dictionary<string, int>(StringComparer.Ordinal)
    {
        [nameof(Membership)] = Membership,
        [nameof(Forwarding)] = Forwarding,
        [nameof(Health)] = Health,
        [nameof(Admin)] = Admin,
        [nameof(Telemetry)] = Telemetry,
        [nameof(Connections)] = Connections,
        [nameof(Provisioning)] = Provisioning,
        // Kubernetes/ feeds membership from EndpointSlices and scales the StatefulSet: its events are membership events (12x, 13x).
        ["Kubernetes"] = Membership,
        // Docker/ is the Docker provisioning engine, its watch included: its events are provisioning events (82x, 83x).
        ["Docker"] = Provisioning,
    };
}
