using System.Text.Json;
using LoadBalancer.Proxy.Common;
using LoadBalancer.Proxy.Membership;
using LoadBalancer.Proxy.Replies;

namespace LoadBalancer.Proxy.Admin;

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
        HandleAsync(context, "rep", HttpMethods.Get, _ => Task.FromResult(membership.CurrentServers));

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

        metrics.ServersChanged(endpoint, edit.Changed.Count);
        LogChanged(logger, endpoint, Caller(context), string.Join(", ", edit.Changed), string.Join(", ", edit.Servers));
        return edit.Servers;
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

            var servers = await apply(context.Request).ConfigureAwait(false);
            var json = JsonSerializer.SerializeToUtf8Bytes(
                new ReplyBody<ReplicaList>(new ReplicaList(servers.Count, servers), Reply.Successful),
                AdminJsonContext.Relaxed.ReplyBodyReplicaList);
            status = StatusCodes.Status200OK;
            await Reply.WriteAsync(context, status, json).ConfigureAwait(false);
            LogAnswered(logger, context.Request.Method, endpoint, Caller(context), status);
        }
        catch (AdminFailureException failure)
        {
            status = failure.StatusCode;
            LogRefused(logger, context.Request.Method, endpoint, Caller(context), status, failure.Message);
            await Reply.WriteFailureAsync(context, status, failure.Message).ConfigureAwait(false);
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

    [LoggerMessage(EventId = 503, Level = LogLevel.Information, Message = "Admin /{Endpoint} by {Caller} changed [{Changed}]; ring now [{Servers}]")]
    private static partial void LogChanged(ILogger logger, string endpoint, string caller, string changed, string servers);
}
