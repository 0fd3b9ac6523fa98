using k8s.Models;

namespace LoadBalancer.Proxy.Kubernetes;

/// <summary>
/// The ring servers that a set of EndpointSlices describes: every ready endpoint with an address, named by its pod's
/// hostname (a StatefulSet's pods keep theirs: <c>server-0</c>, …, stable ring names), at the slice's port of the
/// wanted name.
/// </summary>
internal static class EndpointSliceServers
{
    /// <summary>The label Kubernetes puts on every EndpointSlice of a Service.</summary>
    public const string ServiceNameLabel = "kubernetes.io/service-name";

    /// <summary>Name → address of the ready endpoints in <paramref name="slices"/>.</summary>
    /// <param name="slices">The Service's slices, by slice name.</param>
    /// <param name="portName">The slice port to route to (<c>http</c>, <c>h2c</c>).</param>
    /// <param name="scheme">The scheme of each address.</param>
    public static Dictionary<string, Uri> From(IEnumerable<V1EndpointSlice> slices, string portName, string scheme)
    {
        var servers = new Dictionary<string, Uri>(StringComparer.Ordinal);
        foreach (var slice in slices)
        {
            // Only IP addresses route without another lookup (FQDN slices are for ExternalName-like Services).
            if (slice.AddressType is not ("IPv4" or "IPv6") ||
                slice.Ports?.FirstOrDefault(p => p.Name == portName) is not { Port: { } port } ||
                slice.Endpoints is null)
            {
                continue;
            }

            foreach (var endpoint in slice.Endpoints)
            {
                // The API: "ready ... nil should be interpreted as true"; a terminating pod's endpoint is not ready.
                if (endpoint.Conditions?.Ready == false || endpoint.Addresses is not { Count: > 0 } addresses)
                {
                    continue;
                }

                var name = endpoint.Hostname ?? endpoint.TargetRef?.Name ?? addresses[0];
                servers[name] = new UriBuilder(scheme, addresses[0], port).Uri;
            }
        }

        return servers;
    }
}
