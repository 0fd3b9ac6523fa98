using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Provisioning;

/// <summary>
/// The AppHost's server pool, through the provisioning API the AppHost serves on its loopback
/// (LoadBalancer.AppHost/Provisioning/ProvisioningApi.cs): long-polled list, start and stop calls, keyed.
/// </summary>
/// <remarks>
/// Its own client, not one from IHttpClientFactory: a list call waits on purpose (up to the AppHost's long poll) and a
/// start waits for servers to come up, which a shared client's timeouts or retries would cut short or repeat.
/// </remarks>
internal sealed class AppHostProvisioner : IServerProvisioner, IDisposable
{
    // Longer than the AppHost's long poll (20 s), so a wait that ends without a change is an answer, not a timeout.
    private static readonly TimeSpan ListTimeout = TimeSpan.FromSeconds(40);

    private readonly HttpClient _client;

    public AppHostProvisioner(IOptions<ProvisioningOptions> options)
    {
        var settings = options.Value;
        _client = new HttpClient(new SocketsHttpHandler { PooledConnectionIdleTimeout = TimeSpan.FromMinutes(1) })
        {
            BaseAddress = settings.Address,
            Timeout = Timeout.InfiniteTimeSpan,
        };
        _client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", settings.Key);
    }

    public async Task<ProvisionedList> ListAsync(long? after, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(ListTimeout);
        var path = after is { } version ? $"/servers?after={version}" : "/servers";
        using var response = await _client.GetAsync(path, timeout.Token).ConfigureAwait(false);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"The AppHost's provisioning API answered {(int)response.StatusCode}: {await MessageOfAsync(response, timeout.Token).ConfigureAwait(false)}");
        }

        return await response.Content.ReadFromJsonAsync(ProvisioningJsonContext.Default.ProvisionedList, timeout.Token).ConfigureAwait(false)
            ?? throw new HttpRequestException("The AppHost's provisioning API answered an empty list.");
    }

    public Task<ProvisioningResult> StartAsync(IReadOnlyList<string> names, int count, TimeSpan timeout, CancellationToken cancellationToken) =>
        ChangeAsync("/servers/start", new StartCall(names, count, (int)timeout.TotalMilliseconds), ProvisioningJsonContext.Default.StartCall, cancellationToken);

    public Task<ProvisioningResult> StopAsync(IReadOnlyList<string> names, TimeSpan drain, CancellationToken cancellationToken) =>
        ChangeAsync("/servers/stop", new StopCall(names, (int)drain.TotalMilliseconds), ProvisioningJsonContext.Default.StopCall, cancellationToken);

    private async Task<ProvisioningResult> ChangeAsync<T>(string path, T call, System.Text.Json.Serialization.Metadata.JsonTypeInfo<T> type, CancellationToken cancellationToken)
    {
        try
        {
            using var response = await _client.PostAsJsonAsync(path, call, type, cancellationToken).ConfigureAwait(false);
            if (!response.IsSuccessStatusCode)
            {
                return new ProvisioningResult((int)response.StatusCode, await MessageOfAsync(response, cancellationToken).ConfigureAwait(false), []);
            }

            var reply = await response.Content.ReadFromJsonAsync(ProvisioningJsonContext.Default.ChangeReply, cancellationToken).ConfigureAwait(false);
            return new ProvisioningResult(StatusCodes.Status200OK, null, reply?.Changed ?? []);
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException)
        {
            return new ProvisioningResult(StatusCodes.Status502BadGateway, $"<Error> The AppHost could not be asked to change servers: {ex.Message}", []);
        }
    }

    private static async Task<string> MessageOfAsync(HttpResponseMessage response, CancellationToken cancellationToken)
    {
        var body = await response.Content.ReadAsStringAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return JsonSerializer.Deserialize(body, ProvisioningJsonContext.Default.EngineFailure)?.Message ?? body;
        }
        catch (JsonException)
        {
            return body;
        }
    }

    public void Dispose() => _client.Dispose();
}

/// <summary>The body of a start call.</summary>
internal sealed record StartCall(IReadOnlyList<string> Names, int Count, int TimeoutMs);

/// <summary>The body of a stop call.</summary>
internal sealed record StopCall(IReadOnlyList<string> Names, int DrainMs);

/// <summary>The answer to a start or stop call.</summary>
internal sealed record ChangeReply(IReadOnlyList<string> Changed);

/// <summary>An engine's error answer: <c>{"message": …, "status": "failure"}</c>.</summary>
internal sealed record EngineFailure(string? Message);

/// <summary>Source-generated JSON for the AppHost's provisioning API (camelCase, as ASP.NET Core writes it).</summary>
[JsonSourceGenerationOptions(JsonSerializerDefaults.Web)]
[JsonSerializable(typeof(ProvisionedList))]
[JsonSerializable(typeof(StartCall))]
[JsonSerializable(typeof(StopCall))]
[JsonSerializable(typeof(ChangeReply))]
[JsonSerializable(typeof(EngineFailure))]
internal sealed partial class ProvisioningJsonContext : JsonSerializerContext;
