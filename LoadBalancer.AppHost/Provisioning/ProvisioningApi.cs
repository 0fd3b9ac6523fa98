using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.AppHost.Provisioning;

/// <summary>
/// The AppHost's provisioning API, which the proxy (every replica) uses to list, start and stop servers: HTTP on
/// 127.0.0.1 at a port chosen at start, keyed with a secret generated per run and given to the proxy only
/// (docs/admin-api.md, "Starting and stopping servers").
/// </summary>
/// <remarks>
/// <c>GET /servers?after={version}</c> answers at once when the list is newer than <c>version</c>, else when it
/// changes or after <see cref="LongPoll"/>; <c>POST /servers/start</c> <c>{"names":[],"count":n,"timeoutMs":t}</c>;
/// <c>POST /servers/stop</c> <c>{"names":[],"drainMs":d}</c>. Errors are <c>{"message":…,"status":"failure"}</c>.
/// Started on first use (the proxy's environment asks for the address), so a run that never starts the proxy, and
/// publish mode, open no port.
/// </remarks>
internal sealed partial class ProvisioningApi(ServerPoolController controller, ILogger<ProvisioningApi> logger) : IHostedService, IAsyncDisposable
{
    /// <summary>How long <c>GET /servers</c> waits for a change before answering with the current list.</summary>
    public static readonly TimeSpan LongPoll = TimeSpan.FromSeconds(20);

    private readonly Lock _gate = new();
    private Task<Uri>? _address;
    private WebApplication? _app;

    /// <summary>The key the proxy sends as <c>Authorization: Bearer</c>.</summary>
    public string Key { get; } = Convert.ToHexString(RandomNumberGenerator.GetBytes(24));

    /// <summary>The API's address, starting it on first call.</summary>
    public Task<Uri> GetAddressAsync()
    {
        lock (_gate)
        {
            return _address ??= StartListeningAsync();
        }
    }

    /// <inheritdoc />
    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <inheritdoc />
    public async Task StopAsync(CancellationToken cancellationToken)
    {
        if (_app is not null)
        {
            await _app.StopAsync(cancellationToken).ConfigureAwait(false);
        }
    }

    /// <inheritdoc />
    public async ValueTask DisposeAsync()
    {
        if (_app is not null)
        {
            await _app.DisposeAsync().ConfigureAwait(false);
        }
    }

    private async Task<Uri> StartListeningAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.Use(DemandKeyAsync);
        app.MapGet("/servers", ListAsync);
        app.MapPost("/servers/start", StartServersAsync);
        app.MapPost("/servers/stop", StopServersAsync);
        await app.StartAsync().ConfigureAwait(false);
        _app = app;
        var address = new Uri(app.Urls.First());
        LogListening(logger, address.ToString());
        return address;
    }

    private async Task DemandKeyAsync(HttpContext context, RequestDelegate next)
    {
        var given = context.Request.Headers.Authorization.ToString();
        var expected = "Bearer " + Key;
        if (!CryptographicOperations.FixedTimeEquals(Encoding.UTF8.GetBytes(given), Encoding.UTF8.GetBytes(expected)))
        {
            await Results.Json(new Failure("<Error> The provisioning API needs its key (Authorization: Bearer)"), statusCode: 401)
                .ExecuteAsync(context).ConfigureAwait(false);
            return;
        }

        await next(context).ConfigureAwait(false);
    }

    private async Task<IResult> ListAsync(long? after, CancellationToken cancellationToken)
    {
        if (after is { } version)
        {
            try
            {
                await controller.Pool.WhenChangedAsync(version).WaitAsync(LongPoll, cancellationToken).ConfigureAwait(false);
            }
            catch (TimeoutException)
            {
                // Nothing changed: the current list, which the caller already has, tells it to ask again.
            }
        }

        return Results.Json(controller.Pool.List());
    }

    private async Task<IResult> StartServersAsync(StartRequest request, CancellationToken cancellationToken)
    {
        if (request.Count < (request.Names?.Count ?? 0) || request.Count < 1 || request.TimeoutMs is < 1 or > 600_000)
        {
            return Results.Json(new Failure("<Error> count must be at least 1 and at least the names given; timeoutMs from 1 to 600000"), statusCode: 400);
        }

        var outcome = await controller.StartAsync(request.Names ?? [], request.Count, TimeSpan.FromMilliseconds(request.TimeoutMs), cancellationToken)
            .ConfigureAwait(false);
        return Reply(outcome);
    }

    private async Task<IResult> StopServersAsync(StopRequest request, CancellationToken cancellationToken)
    {
        if (request.Names is not { Count: > 0 } || request.DrainMs is < 0 or > 600_000)
        {
            return Results.Json(new Failure("<Error> names must name at least one server; drainMs from 0 to 600000"), statusCode: 400);
        }

        return Reply(await controller.StopAsync(request.Names, TimeSpan.FromMilliseconds(request.DrainMs), cancellationToken).ConfigureAwait(false));
    }

    private static IResult Reply(PoolOutcome outcome) =>
        outcome.Error is null
            ? Results.Json(new ChangeReply(outcome.Changed, outcome.List!))
            : Results.Json(new Failure(outcome.Error), statusCode: outcome.Status);

    [LoggerMessage(EventId = 30, Level = LogLevel.Information, Message = "Provisioning API for the proxy listening on {Address}")]
    private static partial void LogListening(ILogger logger, string address);

    private sealed record StartRequest(IReadOnlyList<string>? Names, int Count, int TimeoutMs = 60_000);

    private sealed record StopRequest(IReadOnlyList<string>? Names, int DrainMs = 0);

    private sealed record ChangeReply(IReadOnlyList<string> Changed, PoolList List);

    private sealed record Failure(string Message)
    {
        public string Status => "failure";
    }
}
