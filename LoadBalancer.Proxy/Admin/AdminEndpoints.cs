using System.Text.Json;
using LoadBalancer.Proxy.Membership;
using LoadBalancer.Proxy.Replies;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace LoadBalancer.Proxy.Admin;

/// <summary>
/// The assignment's management API on the proxy's port: <c>GET /rep</c>, <c>POST /add</c>, <c>DELETE /rm</c>.
/// </summary>
/// <remarks>
/// The three paths are routing endpoints for every method, so the proxy never forwards them to servers (a wrong method
/// gets a JSON 405 here). Servers' own paths of the same names are not reachable through the proxy.
/// </remarks>
public static class AdminEndpoints
{
    /// <summary>The path of the replica list.</summary>
    public const string RepPath = "/rep";

    /// <summary>The path that adds servers.</summary>
    public const string AddPath = "/add";

    /// <summary>The path that removes servers.</summary>
    public const string RemovePath = "/rm";

    /// <summary>Adds the admin API's options and services.</summary>
    public static IServiceCollection AddLoadBalancerAdmin(this IServiceCollection services)
    {
        services.AddValidatedOptions<AdminOptions, AdminOptionsValidator>(AdminOptions.SectionName);
        services.AddSingleton<AdminMetrics>();
        services.AddSingleton<AdminAccess>();
        services.AddSingleton<AdminStateFile>();
        services.AddSingleton<AdminRequestReader>();
        services.AddSingleton<AdminHandler>();
        return services;
    }

    /// <summary>Maps <c>/rep</c>, <c>/add</c> and <c>/rm</c> (all methods; see remarks on the type).</summary>
    public static WebApplication MapAdminEndpoints(this WebApplication app)
    {
        var handler = app.Services.GetRequiredService<AdminHandler>();
        handler.WarnIfOpen();
        app.Map(RepPath, handler.ReplicasAsync);
        app.Map(AddPath, handler.AddAsync);
        app.Map(RemovePath, handler.RemoveAsync);
        return app;
    }
}

/// <summary>Answers admin calls: access check, method check, body, membership change, reply, log and metrics.</summary>
internal sealed partial class AdminHandler(
    MembershipManager membership,
    Provisioning.ServerChanges changes,
    AdminAccess access,
    AdminRequestReader reader,
    IRandomFactory randomFactory,
    AdminMetrics metrics,
    ILogger<AdminHandler> logger)
{
    private const string TooManyToAdd = "<Error> Length of hostname list is more than newly added instances";
    private const string TooManyToRemove = "<Error> Length of hostname list is more than removable instances";

    public void WarnIfOpen()
    {
        if (!access.KeyConfigured)
        {
            LogNoKey(logger);
        }
    }

    public Task ReplicasAsync(HttpContext context) =>
        HandleAsync(context, "rep", HttpMethods.Get, _ => Task.FromResult(membership.CurrentMembers));

    public Task AddAsync(HttpContext context) => HandleAsync(context, "add", HttpMethods.Post, async request =>
    {
        var change = await reader.ReadAsync(request, TooManyToAdd).ConfigureAwait(false);
        return Applied(request.HttpContext, "add", await changes.AddAsync(change.Targets, change.N, request.HttpContext.RequestAborted).ConfigureAwait(false));
    });

    public Task RemoveAsync(HttpContext context) => HandleAsync(context, "rm", HttpMethods.Delete, async request =>
    {
        var change = await reader.ReadAsync(request, TooManyToRemove).ConfigureAwait(false);
        return Applied(request.HttpContext, "rm",
            await changes.RemoveAsync(change.Targets, change.N, randomFactory.Create(), request.HttpContext.RequestAborted).ConfigureAwait(false));
    });

    private IReadOnlyList<string> Applied(HttpContext context, string endpoint, MembershipEdit edit)
    {
        if (!edit.Applied)
        {
            throw new AdminFailureException(edit.StatusCode, edit.Error!);
        }

        metrics.MembersChanged(endpoint, edit.Changed.Count);
        LogChanged(logger, endpoint, Caller(context), string.Join(", ", edit.Changed), string.Join(", ", edit.Members));
        return edit.Members;
    }

    private async Task HandleAsync(HttpContext context, string endpoint, string method, Func<HttpRequest, Task<IReadOnlyList<string>>> apply)
    {
        int status;
        try
        {
            access.Demand(context);
            if (!HttpMethods.Equals(context.Request.Method, method))
            {
                context.Response.Headers.Allow = method;
                throw new AdminFailureException(StatusCodes.Status405MethodNotAllowed,
                    $"<Error> /{endpoint} accepts {method} only, not {context.Request.Method}");
            }

            var members = await apply(context.Request).ConfigureAwait(false);
            var json = JsonSerializer.SerializeToUtf8Bytes(
                new Reply<ReplicaList>(new ReplicaList(members.Count, members), Replies.Replies.Successful),
                AdminJsonContext.Relaxed.ReplyReplicaList);
            status = StatusCodes.Status200OK;
            await Replies.Replies.WriteAsync(context, status, json).ConfigureAwait(false);
            LogAnswered(logger, context.Request.Method, endpoint, Caller(context), status);
        }
        catch (AdminFailureException failure)
        {
            status = failure.StatusCode;
            LogRefused(logger, context.Request.Method, endpoint, Caller(context), status, failure.Message);
            await Replies.Replies.WriteFailureAsync(context, status, failure.Message).ConfigureAwait(false);
        }

        metrics.Request(endpoint, status);
    }

    private string Caller(HttpContext context) =>
        $"{context.Connection.RemoteIpAddress}{(access.KeyConfigured ? " (key)" : " (loopback, no key)")}";

    [LoggerMessage(EventId = 500, Level = LogLevel.Warning,
        Message = "No admin key is configured (Admin:ApiKey): /rep, /add and /rm accept loopback callers only")]
    private static partial void LogNoKey(ILogger logger);

    [LoggerMessage(EventId = 501, Level = LogLevel.Information, Message = "Admin {Method} /{Endpoint} from {Caller}: {StatusCode}")]
    private static partial void LogAnswered(ILogger logger, string method, string endpoint, string caller, int statusCode);

    [LoggerMessage(EventId = 502, Level = LogLevel.Warning, Message = "Admin {Method} /{Endpoint} from {Caller} refused with {StatusCode}: {Reason}")]
    private static partial void LogRefused(ILogger logger, string method, string endpoint, string caller, int statusCode, string reason);

    [LoggerMessage(EventId = 503, Level = LogLevel.Information, Message = "Admin /{Endpoint} by {Caller} changed [{Changed}]; ring now [{Members}]")]
    private static partial void LogChanged(ILogger logger, string endpoint, string caller, string changed, string members);
}
