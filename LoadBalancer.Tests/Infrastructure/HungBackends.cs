using System.Threading.Channels;
using Microsoft.AspNetCore.Http;

namespace LoadBalancer.Tests.Infrastructure;

/// <summary>
/// Backends that never answer <c>/home</c> and report which of them each request reached, in order: tests on the
/// proxy's fake clock move it only once every attempt they expect has arrived, so their counts are exact.
/// </summary>
public sealed class HungBackends : IAsyncDisposable
{
    private readonly Channel<string> _arrivals = Channel.CreateUnbounded<string>();
    private readonly Dictionary<string, TestHost> _hosts = [];

    private HungBackends()
    {
    }

    /// <summary>Name → address, for <see cref="TestHost.StartProxyAsync(IEnumerable{KeyValuePair{string, Uri}}, IDictionary{string, string?}?, Action{Microsoft.Extensions.DependencyInjection.IServiceCollection}?)"/>.</summary>
    public Dictionary<string, Uri> Servers => _hosts.ToDictionary(host => host.Key, host => host.Value.Address);

    /// <summary>Starts one hung backend per name.</summary>
    public static async Task<HungBackends> StartAsync(params string[] names)
    {
        var backends = new HungBackends();
        foreach (var name in names)
        {
            backends._hosts[name] = await TestHost.StartBackendAsync(backends.Hang(name));
        }

        return backends;
    }

    /// <summary>The name of the backend the next request reached.</summary>
    public ValueTask<string> NextArrivalAsync(CancellationToken cancellationToken) => _arrivals.Reader.ReadAsync(cancellationToken);

    /// <summary>Whether a request arrived that no <see cref="NextArrivalAsync"/> has taken yet.</summary>
    public bool HasUnreadArrival => _arrivals.Reader.TryPeek(out _);

    public async ValueTask DisposeAsync()
    {
        foreach (var host in _hosts.Values)
        {
            await host.DisposeAsync();
        }
    }

    private RequestDelegate Hang(string name) => async context =>
    {
        if (context.Request.Path == "/home")
        {
            _arrivals.Writer.TryWrite(name);
            await Task.Delay(Timeout.Infinite, context.RequestAborted);
        }
    };
}
