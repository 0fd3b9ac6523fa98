using System.Net;
using Microsoft.AspNetCore.Connections;

namespace LoadBalancer.Proxy.Connections;

/// <summary>
/// Limits the client connections the proxy holds (see <see cref="ConnectionGate"/>) at the transport: every
/// registered <see cref="IConnectionListenerFactory"/> (Kestrel's sockets) is wrapped so that each accepted connection
/// takes a place at the gate, and one over the limit is closed at once, in the accept loop itself.
/// </summary>
/// <remarks>
/// Why here and not Kestrel's <c>MaxConcurrentConnections</c>: Kestrel checks its limit only once the accepted
/// connection has been queued to the thread pool, so under a flood with a busy pool accepted sockets (descriptors)
/// pile up unchecked; it logs a warning for every refused connection; and an upgraded (WebSocket) connection leaves
/// its count. Here a refused socket is closed before the next accept, every connection counts until its socket is
/// disposed, and the proxy reports refusals its own way. Why not a connection middleware (<c>ListenOptions.Use</c>):
/// it runs after that same queueing, and reaching every endpoint takes <c>ConfigureEndpointDefaults</c>, a single
/// slot that a later call replaces.
/// </remarks>
internal static class ConnectionLimiting
{
    /// <summary>Registers the options and the gate, and wraps the transports registered so far (the host registers Kestrel's when it is created).</summary>
    public static IServiceCollection AddConnectionLimiting(this IServiceCollection services)
    {
        services.AddValidatedOptions<ConnectionOptions>(ConnectionOptions.SectionName);
        services.AddSingleton<ConnectionGate>();
        for (var i = 0; i < services.Count; i++)
        {
            var original = services[i];
            if (original.ServiceType == typeof(IConnectionListenerFactory) && !original.IsKeyedService)
            {
                services[i] = ServiceDescriptor.Singleton<IConnectionListenerFactory>(provider =>
                    new LimitedListenerFactory(Create(provider, original), provider.GetRequiredService<ConnectionGate>()));
            }
        }

        return services;
    }

    private static IConnectionListenerFactory Create(IServiceProvider provider, ServiceDescriptor descriptor) =>
        (IConnectionListenerFactory)(descriptor.ImplementationInstance
            ?? descriptor.ImplementationFactory?.Invoke(provider)
            ?? ActivatorUtilities.CreateInstance(provider, descriptor.ImplementationType!));
}

/// <summary>A transport whose listeners pass each accepted connection through the <see cref="ConnectionGate"/>.</summary>
internal sealed class LimitedListenerFactory(IConnectionListenerFactory inner, ConnectionGate gate) : IConnectionListenerFactory, IConnectionListenerFactorySelector
{
    public async ValueTask<IConnectionListener> BindAsync(EndPoint endpoint, CancellationToken cancellationToken = default) =>
        new LimitedListener(await inner.BindAsync(endpoint, cancellationToken).ConfigureAwait(false), gate);

    // Kestrel picks a transport by this; the wrapper must not change which one binds an endpoint.
    public bool CanBind(EndPoint endpoint) => inner is not IConnectionListenerFactorySelector selector || selector.CanBind(endpoint);
}

/// <summary>Accepts through the inner listener; a connection over the limit is closed before the next accept.</summary>
internal sealed class LimitedListener(IConnectionListener inner, ConnectionGate gate) : IConnectionListener
{
    public EndPoint EndPoint => inner.EndPoint;

    public async ValueTask<ConnectionContext?> AcceptAsync(CancellationToken cancellationToken = default)
    {
        while (true)
        {
            var connection = await inner.AcceptAsync(cancellationToken).ConfigureAwait(false);
            if (connection is null)
            {
                return null;
            }

            if (gate.TryEnter())
            {
                return new CountedConnection(connection, gate);
            }

            // What Kestrel does with a connection it refuses: complete both pipes, which closes the socket. Awaited, so
            // refused sockets cannot pile up faster than they close.
            try
            {
                await connection.DisposeAsync().ConfigureAwait(false);
            }
#pragma warning disable CA1031 // A refused connection's teardown must never end the accept loop.
            catch (Exception)
#pragma warning restore CA1031
            {
            }
        }
    }

    public ValueTask UnbindAsync(CancellationToken cancellationToken = default) => inner.UnbindAsync(cancellationToken);

    public ValueTask DisposeAsync() => inner.DisposeAsync();
}

/// <summary>
/// A connection that gives its place at the gate back when Kestrel disposes it, which it does last, after the socket
/// is closed: the count follows descriptors, not requests. Everything else is the transport's own.
/// </summary>
internal sealed class CountedConnection(ConnectionContext inner, ConnectionGate gate) : ConnectionContext
{
    private int _released;

    public override string ConnectionId { get => inner.ConnectionId; set => inner.ConnectionId = value; }

    public override Microsoft.AspNetCore.Http.Features.IFeatureCollection Features => inner.Features;

    public override IDictionary<object, object?> Items { get => inner.Items; set => inner.Items = value; }

    public override System.IO.Pipelines.IDuplexPipe Transport { get => inner.Transport; set => inner.Transport = value; }

    public override CancellationToken ConnectionClosed { get => inner.ConnectionClosed; set => inner.ConnectionClosed = value; }

    public override EndPoint? LocalEndPoint { get => inner.LocalEndPoint; set => inner.LocalEndPoint = value; }

    public override EndPoint? RemoteEndPoint { get => inner.RemoteEndPoint; set => inner.RemoteEndPoint = value; }

    public override void Abort() => inner.Abort();

    public override void Abort(ConnectionAbortedException abortReason) => inner.Abort(abortReason);

    public override async ValueTask DisposeAsync()
    {
        try
        {
            await inner.DisposeAsync().ConfigureAwait(false);
        }
        finally
        {
            if (Interlocked.Exchange(ref _released, 1) == 0)
            {
                gate.Exit();
            }
        }
    }
}
