using System.Net.WebSockets;
using System.Text;
using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Server.Kestrel.Core;

namespace LoadBalancer.Tests.Forwarding;

/// <summary>WebSockets pass through the proxy to the key's server, over HTTP/1.1 upgrades or HTTP/2 extended CONNECT.</summary>
[Trait(TestCategories.Name, TestCategories.Integration)]
public sealed class WebSocketTests
{
    [Theory]
    [InlineData("Http1")]
    [InlineData("Http2")]
    public async Task A_websocket_reaches_its_server_and_messages_flow_both_ways(string serverProtocol)
    {
        await using var backend = await TestHost.StartAsync(
            builder =>
            {
                if (serverProtocol == "Http2")
                {
                    builder.WebHost.ConfigureKestrel(kestrel => kestrel.ConfigureEndpointDefaults(listen => listen.Protocols = HttpProtocols.Http2));
                }
            },
            app =>
            {
                app.UseWebSockets();
                app.Run(EchoAsync);
            });
        await using var proxy = await TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["ws"] = backend.Address },
            new Dictionary<string, string?> { ["Forwarding:ServerProtocol"] = serverProtocol, ["Health:Enabled"] = "false" });
        using var client = new ClientWebSocket();
        client.Options.CollectHttpResponseDetails = true;
        using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        await client.ConnectAsync(new Uri($"ws://{proxy.Address.Authority}/chat?id=1"), patience.Token);
        var replies = new List<string>();
        foreach (var message in new[] { "hello", "again" })
        {
            await client.SendAsync(Encoding.UTF8.GetBytes(message), WebSocketMessageType.Text, endOfMessage: true, patience.Token);
            var buffer = new byte[256];
            var read = await client.ReceiveAsync(buffer, patience.Token);
            replies.Add(Encoding.UTF8.GetString(buffer, 0, read.Count));
        }

        await client.CloseAsync(WebSocketCloseStatus.NormalClosure, "done", patience.Token);

        Assert.Equal(HttpStatusCode.SwitchingProtocols, client.HttpStatusCode);
        Assert.Equal("ws", Assert.Single(client.HttpResponseHeaders![ProxyRequestHandler.ServerNameHeader]));
        Assert.Equal(["echo: hello", "echo: again"], replies);
        Assert.Equal(WebSocketState.Closed, client.State);
    }

    private static async Task EchoAsync(HttpContext context)
    {
        if (!context.WebSockets.IsWebSocketRequest)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }

        using var socket = await context.WebSockets.AcceptWebSocketAsync();
        var buffer = new byte[256];
        while (true)
        {
            var read = await socket.ReceiveAsync(buffer, context.RequestAborted);
            if (read.MessageType == WebSocketMessageType.Close)
            {
                await socket.CloseAsync(WebSocketCloseStatus.NormalClosure, "bye", context.RequestAborted);
                return;
            }

            await socket.SendAsync(Encoding.UTF8.GetBytes("echo: " + Encoding.UTF8.GetString(buffer, 0, read.Count)), WebSocketMessageType.Text, endOfMessage: true, context.RequestAborted);
        }
    }
}
