using System.Diagnostics.Metrics;

namespace LoadBalancer.Proxy.Admin;

/// <summary>The admin API's instruments on the <c>LoadBalancer.Proxy</c> meter.</summary>
public sealed class AdminMetrics
{
    /// <summary>The counter's name.</summary>
    public const string RequestsName = "loadbalancer.admin.requests";

    /// <summary>The counter of membership changes' name.</summary>
    public const string ServersChangedName = "loadbalancer.admin.servers_changed";

    private readonly Counter<long> _requests;
    private readonly Counter<long> _serversChanged;

    /// <summary>Creates the instruments through <paramref name="meterFactory"/>.</summary>
    public AdminMetrics(IMeterFactory meterFactory)
    {
        var meter = meterFactory.Create(ProxyApplication.TelemetryName);
        _requests = meter.CreateCounter<long>(RequestsName, "{request}", "Admin API calls by endpoint and status code.");
        _serversChanged = meter.CreateCounter<long>(ServersChangedName, "{server}", "Ring servers added or removed through the admin API.");
    }

    /// <summary>Counts one admin call.</summary>
    public void Request(string endpoint, int statusCode) =>
        _requests.Add(1, new KeyValuePair<string, object?>("loadbalancer.admin.endpoint", endpoint), new KeyValuePair<string, object?>("http.response.status_code", statusCode));

    /// <summary>Counts servers an admin call added (<c>add</c>) or removed (<c>rm</c>).</summary>
    public void ServersChanged(string endpoint, int count) =>
        _serversChanged.Add(count, new KeyValuePair<string, object?>("loadbalancer.admin.endpoint", endpoint));
}
