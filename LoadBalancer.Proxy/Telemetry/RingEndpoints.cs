using System.Text;
using System.Text.Json;
using LoadBalancer.Proxy.Balancing;
using Microsoft.Net.Http.Headers;
using LoadBalancer.Proxy.Replies;

namespace LoadBalancer.Proxy.Telemetry;

/// <summary>
/// Maps <c>GET /ring</c> (JSON, or the live page for a browser asking for HTML) and <c>GET /ring/view</c> (the page);
/// HEAD too, and any other method gets a JSON 405.
/// </summary>
public static class RingEndpoints
{
    /// <summary>The JSON (and content-negotiated page) path.</summary>
    public const string Path = "/ring";

    /// <summary>The page's own path.</summary>
    public const string ViewPath = "/ring/view";

    private static readonly byte[] Page = Encoding.UTF8.GetBytes(RingPage.Html);

    /// <summary>Maps the ring endpoints on <paramref name="app"/>.</summary>
    public static IEndpointRouteBuilder MapRingEndpoints(this IEndpointRouteBuilder app)
    {
        var ring = app.ServiceProvider.GetRequiredService<TableState>();
        var telemetry = app.ServiceProvider.GetRequiredService<ProxyTelemetry>();

        // Every method is mapped so that a wrong one gets a JSON 405 naming the right ones, like the admin API, rather
        // than routing's empty 405.
        app.Map(Path, ReadOnly(context => WantsHtml(context.Request) ? WritePageAsync(context) : WriteJsonAsync(context, ring, telemetry)));
        app.Map(ViewPath, ReadOnly(WritePageAsync));
        return app;
    }

    private static RequestDelegate ReadOnly(RequestDelegate read) => context =>
    {
        var method = context.Request.Method;
        if (HttpMethods.IsGet(method) || HttpMethods.IsHead(method))
        {
            return read(context);
        }

        context.Response.Headers.Allow = "GET, HEAD";
        return Reply.WriteFailureAsync(context, StatusCodes.Status405MethodNotAllowed,
            $"<Error> {context.Request.Path} accepts GET and HEAD only, not {method}");
    };

    private static Task WriteJsonAsync(HttpContext context, TableState ring, ProxyTelemetry telemetry)
    {
        var includePoints = !string.Equals(context.Request.Query["points"], "false", StringComparison.OrdinalIgnoreCase);
        var report = RingReport.Create(ring.Current, telemetry.LastRemap, includePoints);
        context.Response.ContentType = "application/json; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        return JsonSerializer.SerializeAsync(context.Response.Body, report, RingJsonContext.Default.RingReport, context.RequestAborted);
    }

    private static Task WritePageAsync(HttpContext context)
    {
        context.Response.ContentType = "text/html; charset=utf-8";
        context.Response.Headers.CacheControl = "no-store";
        context.Response.ContentLength = Page.Length;
        return context.Response.Body.WriteAsync(Page, context.RequestAborted).AsTask();
    }

    /// <summary>True when the client prefers HTML to JSON (a browser); <c>*/*</c> alone gets JSON.</summary>
    internal static bool WantsHtml(HttpRequest request)
    {
        if (!MediaTypeHeaderValue.TryParseList(request.Headers.Accept, out var accepted))
        {
            return false;
        }

        double html = 0, json = 0;
        foreach (var type in accepted)
        {
            var quality = type.Quality ?? 1;
            if (type.MediaType.Equals("text/html", StringComparison.OrdinalIgnoreCase))
            {
                html = Math.Max(html, quality);
            }
            else if (type.MediaType.Equals("application/json", StringComparison.OrdinalIgnoreCase))
            {
                json = Math.Max(json, quality);
            }
        }

        return html > 0 && html >= json;
    }
}
