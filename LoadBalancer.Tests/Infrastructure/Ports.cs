using System.Net.Sockets;

namespace LoadBalancer.Tests.Infrastructure;

/// <summary>Loopback ports for tests.</summary>
public static class Ports
{
    /// <summary>A port on 127.0.0.1 that was free a moment ago (the OS picked it; nothing listens on it now).</summary>
    public static int Free()
    {
        var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
