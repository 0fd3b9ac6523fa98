using System.Net;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.Options;
using LoadBalancer.Proxy.Replies;

namespace LoadBalancer.Proxy.RateLimiting;

/// <summary>
/// Limits forwarded requests per client address with ASP.NET Core's rate limiter (a token bucket per address, as
/// nginx's <c>limit_req</c> keyed by <c>$binary_remote_addr</c>); a client over its limit gets 429 with
/// <c>Retry-After</c> and a JSON error, and nothing reaches the servers. The proxy's own endpoints (health, ring,
/// admin) are not limited: the limiter applies only where routing found no endpoint.
/// </summary>
internal static class ClientRateLimiting
{
    /// <summary>Registers the options and, when enabled, the limiter.</summary>
    public static IServiceCollection AddClientRateLimiting(this IServiceCollection services)
    {
        services.AddValidatedOptions<RateLimitOptions>(RateLimitOptions.SectionName);
        services.AddRateLimiter(_ => { });
        services.AddOptions<RateLimiterOptions>().Configure<IOptions<RateLimitOptions>>((limiter, configured) =>
        {
            var limit = configured.Value;
            var bucket = new TokenBucketRateLimiterOptions
            {
                TokenLimit = limit.PermitLimit,
                TokensPerPeriod = limit.PermitLimit,
                ReplenishmentPeriod = limit.Period,
                QueueLimit = 0,
                AutoReplenishment = true,
            };
            // Made once here: a capturing lambda built inside the partitioner would be a delegate per request.
            Func<IPAddress, RateLimiter> perClient = _ => new TokenBucketRateLimiter(bucket);
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, IPAddress>(context => context.GetEndpoint() is null
                // Keyed by the address itself, not its text: no string per request. A connection without one (a Unix
                // socket) shares the 255.255.255.255 bucket; the proxy's own endpoints use "::", which is never a peer.
                ? RateLimitPartition.Get(context.Connection.RemoteIpAddress ?? IPAddress.None, perClient)
                : RateLimitPartition.GetNoLimiter(IPAddress.IPv6None));
            limiter.OnRejected = (rejected, cancellationToken) => RejectAsync(rejected, limit);
        });
        return services;
    }

    /// <summary>Adds the middleware when enabled; call after routing, before the forwarding middleware.</summary>
    public static WebApplication UseClientRateLimiting(this WebApplication app)
    {
        if (app.Services.GetRequiredService<IOptions<RateLimitOptions>>().Value.Enabled)
        {
            app.UseRateLimiter();
        }

        return app;
    }

    private static ValueTask RejectAsync(OnRejectedContext rejected, RateLimitOptions limit)
    {
        var context = rejected.HttpContext;
        var retryAfter = rejected.Lease.TryGetMetadata(MetadataName.RetryAfter, out var wait) ? wait : limit.Period;
        context.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        return new ValueTask(Reply.WriteFailureAsync(context, StatusCodes.Status429TooManyRequests,
            $"<Error> Too many requests from {context.Connection.RemoteIpAddress}: the limit is {limit.PermitLimit} per {limit.Period.TotalSeconds:0.###} s"));
    }
}
