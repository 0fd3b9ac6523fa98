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

    /// <summary>
    /// The first of <paramref name="count"/> consecutive ports on 127.0.0.1 that were all free a moment ago (each was
    /// bound and released), for a server that listens on a range; tries a bounded number of starting points.
    /// </summary>
    public static int FreeBlock(int count)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var first = Free();
            if (first + count - 1 > 65535)
            {
                continue;
            }

            var held = new List<TcpListener>();
            try
            {
                for (var port = first; port < first + count; port++)
                {
                    var listener = new TcpListener(IPAddress.Loopback, port);
                    listener.Start();
                    held.Add(listener);
                }

                return first;
            }
            catch (SocketException)
            {
                // One of them is taken: try another starting point.
            }
            finally
            {
                held.ForEach(listener => listener.Stop());
            }
        }

        throw new InvalidOperationException($"No {count} consecutive free ports on 127.0.0.1 in 50 attempts.");
    }
}
