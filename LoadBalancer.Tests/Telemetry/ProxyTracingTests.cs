using System.Diagnostics;
using System.Globalization;
using LoadBalancer.Proxy;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Proxy.Hashing;
using LoadBalancer.Proxy.Membership;
using LoadBalancer.Proxy.Telemetry;
using LoadBalancer.Tests.Infrastructure;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry;
using OpenTelemetry.Trace;

namespace LoadBalancer.Tests.Telemetry;

[Trait(TestCategories.Name, TestCategories.Integration)]
[Collection(SamplingCollection.Name)]
public sealed class ProxyTracingTests
{
    private static readonly TimeSpan ExportWait = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_forwarded_request_is_one_trace_client_proxy_server_without_an_attempt_span_when_the_first_attempt_succeeds()
    {
        var exported = new List<Activity>();
        var (proxy, servers) = await TelemetryTestKit.StartAsync(2, TelemetryTestKit.TraceInto(exported));
        await using var _ = proxy;
        try
        {
            // The client's own trace: the proxy must continue it (W3C trace context in, and on to the server).
            using var client = proxy.CreateClient();
            HttpResponseMessage response;
            ActivityTraceId traceId;
            ActivitySpanId rootSpanId;
            using (var root = TelemetryTestKit.StartRoot())
            {
                (traceId, rootSpanId) = (root.TraceId, root.SpanId);
                response = await client.GetAsync("/home?id=trace-me");
            }

            using var _response = response;
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var upstream = Assert.Single(response.Headers.GetValues(ProxyRequestHandler.ServerNameHeader));

            // Spans are exported when they stop, some after the response reached us: wait for the server's.
            var spans = await WaitForSpansAsync(exported, traceId, s => s.Count(a => a.Kind == ActivityKind.Server) >= 2 &&
                s.Any(IsRequestSpan));
            var byId = spans.ToDictionary(a => a.SpanId);

            var clientSpan = Assert.Single(spans, a => a.Kind == ActivityKind.Client && a.ParentSpanId == rootSpanId);
            var proxyServer = Assert.Single(spans, a => a.Kind == ActivityKind.Server && a.ParentSpanId == clientSpan.SpanId);
            var proxySpan = Assert.Single(spans, IsRequestSpan);
            // The routing decision is recorded on ASP.NET Core's span of the incoming request.
            Assert.Same(proxyServer, proxySpan);
            Assert.Equal("success", proxySpan.GetTagItem(ProxyTelemetry.OutcomeAttribute));
            var expectedHash = new XxHash3Function().HashKey("trace-me").ToString("x16", CultureInfo.InvariantCulture);
            Assert.Equal(expectedHash, proxySpan.GetTagItem(ProxyTelemetry.KeyHashAttribute));
            Assert.Null(proxySpan.GetTagItem(ProxyTelemetry.RoutingKeyAttribute));
            Assert.Equal(upstream, proxySpan.GetTagItem(ProxyTelemetry.ServerAttribute));
            Assert.Equal(1, proxySpan.GetTagItem(ProxyTelemetry.AttemptAttribute));
            Assert.Equal(ActivityStatusCode.Unset, proxySpan.Status);

            var server = servers[int.Parse(upstream["server".Length..], CultureInfo.InvariantCulture) - 1];

            // One attempt that succeeded: no attempt span; YARP's HttpClient span is the proxy span's child, and the
            // chosen server's span descends from it.
            Assert.DoesNotContain(spans, a => a.OperationName == ProxyTelemetry.AttemptActivityName);
            var upstreamCall = Assert.Single(spans, a => a.Kind == ActivityKind.Client && a.ParentSpanId == proxySpan.SpanId);
            Assert.Equal(server.Address.Port, upstreamCall.GetTagItem("server.port"));
            var serverSpan = Assert.Single(spans, a => a.Kind == ActivityKind.Server && a != proxyServer);
            Assert.Equal(upstreamCall.SpanId, serverSpan.ParentSpanId);
            Assert.Contains(proxySpan.SpanId, Ancestors(serverSpan, byId));
        }
        finally
        {
            foreach (var server in servers)
            {
                await server.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_request_no_server_can_take_is_traced_as_an_error_without_attempts()
    {
        var exported = new List<Activity>();
        await using var proxy = await TestHostsWithoutServersAsync(exported);
        var server = proxy.App.Services.GetRequiredService<TableState>().Current!.Table.Servers.Single();
        server.SetUnavailable(Proxy.Balancing.UnavailableReasons.HealthProbe, true);

        using var client = proxy.CreateClient();
        ActivityTraceId traceId;
        using (var root = TelemetryTestKit.StartRoot())
        {
            traceId = root.TraceId;
            using var response = await client.GetAsync("/home?id=nobody");
            Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        }

        var spans = await WaitForSpansAsync(exported, traceId, s => s.Any(IsRequestSpan));
        var proxySpan = Assert.Single(spans, IsRequestSpan);
        Assert.Equal(ActivityStatusCode.Error, proxySpan.Status);
        Assert.Equal("no_server", proxySpan.GetTagItem(ProxyTelemetry.OutcomeAttribute));
        Assert.Equal(0, proxySpan.GetTagItem(ProxyTelemetry.AttemptAttribute));
        Assert.DoesNotContain(spans, a => a.OperationName == ProxyTelemetry.AttemptActivityName);
    }

    [Fact]
    public async Task Each_retry_is_its_own_child_span_with_its_reason()
    {
        var exported = new List<Activity>();
        await using var live = await TestHost.StartServerAsync("2");
        // server1 refuses connections (nothing listens on port 9): its keys fail over to server2.
        await using var proxy = await TestHost.StartProxyAsync(
            [KeyValuePair.Create("server1", new Uri("http://127.0.0.1:9/")), KeyValuePair.Create("server2", live.Address)],
            services: TelemetryTestKit.TraceInto(exported));
        var snapshot = proxy.App.Services.GetRequiredService<TableState>().Current!;
        var key = Enumerable.Range(0, 1000).Select(i => $"retry-{i}")
            .First(k => snapshot.Table.Servers[snapshot.Table.Pick(snapshot.Hash.HashKey(k), [])].Name == "server1");

        using var client = proxy.CreateClient();
        ActivityTraceId traceId;
        using (var root = TelemetryTestKit.StartRoot())
        {
            traceId = root.TraceId;
            using var response = await client.GetAsync($"/home?id={key}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("server2", Assert.Single(response.Headers.GetValues(ProxyRequestHandler.ServerNameHeader)));
        }

        var spans = await WaitForSpansAsync(exported, traceId, s => s.Any(IsRequestSpan));
        var proxySpan = Assert.Single(spans, IsRequestSpan);
        Assert.Equal("server2", proxySpan.GetTagItem(ProxyTelemetry.ServerAttribute));
        Assert.Equal(2, proxySpan.GetTagItem(ProxyTelemetry.AttemptAttribute));
        Assert.Equal(ActivityStatusCode.Unset, proxySpan.Status);

        var attempts = spans.Where(a => a.OperationName == ProxyTelemetry.AttemptActivityName)
            .OrderBy(a => (int)a.GetTagItem(ProxyTelemetry.AttemptAttribute)!).ToArray();
        Assert.Equal(2, attempts.Length);
        Assert.All(attempts, a => Assert.Equal(proxySpan.SpanId, a.ParentSpanId));

        Assert.Equal("server1", attempts[0].GetTagItem(ProxyTelemetry.ServerAttribute));
        Assert.Equal(ActivityStatusCode.Error, attempts[0].Status);
        Assert.Equal("connection_failed", attempts[0].GetTagItem("error.type"));
        Assert.Null(attempts[0].GetTagItem(ProxyTelemetry.RetryReasonAttribute));

        Assert.Equal("server2", attempts[1].GetTagItem(ProxyTelemetry.ServerAttribute));
        Assert.Equal("connection_failed", attempts[1].GetTagItem(ProxyTelemetry.RetryReasonAttribute));
        Assert.Equal(1, attempts[1].GetTagItem("http.request.resend_count"));
        Assert.Equal(200, attempts[1].GetTagItem("http.response.status_code"));
        Assert.Equal(ActivityStatusCode.Unset, attempts[1].Status);

        // The failed first attempt's span is recorded afterwards but spans the attempt itself: its HttpClient span (a
        // sibling, under the request's span) lies within it. The retry's HttpClient span is the retry span's child.
        var firstCall = Assert.Single(spans, a => a.Kind == ActivityKind.Client && a.ParentSpanId == proxySpan.SpanId);
        Assert.True(attempts[0].StartTimeUtc <= firstCall.StartTimeUtc, $"attempt 1 starts {attempts[0].StartTimeUtc:O}, its call {firstCall.StartTimeUtc:O}");
        Assert.True(firstCall.StartTimeUtc + firstCall.Duration <= attempts[0].StartTimeUtc + attempts[0].Duration);
        Assert.Single(spans, a => a.Kind == ActivityKind.Client && a.ParentSpanId == attempts[1].SpanId);
    }

    [Fact]
    public void The_raw_routing_key_is_recorded_only_when_configured()
    {
        var ring = new TableState();
        using var provider = new ServiceCollection().AddMetrics().BuildServiceProvider();
        foreach (var include in new[] { false, true })
        {
            using var telemetry = new ProxyTelemetry(
                provider.GetRequiredService<System.Diagnostics.Metrics.IMeterFactory>(), ring,
                Microsoft.Extensions.Options.Options.Create(new TelemetryOptions { IncludeRoutingKey = include }),
                TimeProvider.System, Microsoft.Extensions.Logging.Abstractions.NullLogger<ProxyTelemetry>.Instance);
            using var request = new Activity("request") { IsAllDataRequested = true };
            var context = new Microsoft.AspNetCore.Http.DefaultHttpContext();
            context.Features.Set<Microsoft.AspNetCore.Http.Features.IHttpActivityFeature>(new ActivityFeature(request.Start()));

            Assert.Same(request, telemetry.BeginRequest(context, 1, "user-42"));

            Assert.Equal(include ? "user-42" : null, request.GetTagItem(ProxyTelemetry.RoutingKeyAttribute));
            Assert.Equal("0000000000000001", request.GetTagItem(ProxyTelemetry.KeyHashAttribute));
        }
    }

    [Fact]
    public async Task The_proxy_records_the_decoded_raw_key_when_configured_to()
    {
        var exported = new List<Activity>();
        await using var proxy = await TestHost.StartProxyAsync(
            [KeyValuePair.Create("server1", new Uri("http://127.0.0.1:9/"))],
            new Dictionary<string, string?> { ["Telemetry:IncludeRoutingKey"] = "true" },
            TelemetryTestKit.TraceInto(exported));
        using var client = proxy.CreateClient();
        ActivityTraceId traceId;
        using (var root = TelemetryTestKit.StartRoot())
        {
            traceId = root.TraceId;
            using var response = await client.GetAsync("/home?id=user%2042");
        }

        var spans = await WaitForSpansAsync(exported, traceId, s => s.Any(IsRequestSpan));
        var proxySpan = Assert.Single(spans, IsRequestSpan);
        Assert.Equal("user 42", proxySpan.GetTagItem(ProxyTelemetry.RoutingKeyAttribute));
        Assert.Equal(new XxHash3Function().HashKey("user 42").ToString("x16", CultureInfo.InvariantCulture), proxySpan.GetTagItem(ProxyTelemetry.KeyHashAttribute));
    }

    private static async Task<TestHost> TestHostsWithoutServersAsync(List<Activity> exported) =>
        await TestHost.StartProxyAsync(
            [KeyValuePair.Create("server1", new Uri("http://127.0.0.1:9/"))],
            services: TelemetryTestKit.TraceInto(exported));

    [Theory]
    [InlineData(null, "01")]
    [InlineData("0", "00")]
    public async Task New_traces_are_sampled_at_the_configured_ratio_and_a_callers_sampled_trace_is_always_kept(string? ratio, string unsampledCallerFlags)
    {
        var exported = new List<Activity>();
        // The backend answers with the trace context the proxy sent it.
        await using var backend = await TestHost.StartBackendAsync(context => context.Response.WriteAsync(context.Request.Headers.TraceParent.ToString()));
        await using var proxy = await TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["server1"] = backend.Address },
            ratio is null ? null : new Dictionary<string, string?> { ["Telemetry:TraceSampleRatio"] = ratio },
            TelemetryTestKit.TraceInto(exported));
        using var client = proxy.CreateClient();

        // No sampled context from the caller: the ratio decides, and the server is told (traceparent flags).
        var fresh = await client.GetStringAsync("/home?id=fresh");
        Assert.EndsWith($"-{unsampledCallerFlags}", fresh, StringComparison.Ordinal);

        // A caller's sampled trace is continued whatever the ratio, and its spans are exported.
        ActivityTraceId traceId;
        string continued;
        using (var root = TelemetryTestKit.StartRoot())
        {
            traceId = root.TraceId;
            continued = await client.GetStringAsync("/home?id=continued");
        }

        Assert.Contains(traceId.ToHexString(), continued, StringComparison.Ordinal);
        Assert.EndsWith("-01", continued, StringComparison.Ordinal);
        Assert.NotEmpty(await WaitForSpansAsync(exported, traceId, s => s.Any(IsRequestSpan)));
    }

    [Theory]
    [InlineData("traceidratio", "0", "00", "00")]
    [InlineData("parentbased_traceidratio", "0", "00", "01")]
    [InlineData("always_off", null, "00", "00")]
    [InlineData("no_such_sampler", null, "01", "01")]
    [InlineData("always_off", null, "01", "01", "1")]
    public async Task The_standard_OTEL_TRACES_SAMPLER_applies_unless_the_proxy_s_ratio_is_set_and_an_unknown_one_is_ignored(
        string sampler, string? argument, string freshFlags, string callerSampledFlags, string? ratio = null)
    {
        await using var backend = await TestHost.StartBackendAsync(context => context.Response.WriteAsync(context.Request.Headers.TraceParent.ToString()));
        var settings = new Dictionary<string, string?> { ["OTEL_TRACES_SAMPLER"] = sampler, ["OTEL_TRACES_SAMPLER_ARG"] = argument };
        if (ratio is not null)
        {
            settings["Telemetry:TraceSampleRatio"] = ratio;
        }

        await using var proxy = await TestHost.StartProxyAsync(
            new Dictionary<string, Uri> { ["server1"] = backend.Address }, settings, TelemetryTestKit.TraceInto([]));
        using var client = proxy.CreateClient();

        Assert.EndsWith($"-{freshFlags}", await client.GetStringAsync("/home?id=fresh"), StringComparison.Ordinal);
        using var root = TelemetryTestKit.StartRoot();
        Assert.EndsWith($"-{callerSampledFlags}", await client.GetStringAsync("/home?id=continued"), StringComparison.Ordinal);
    }

    private static async Task<Activity[]> WaitForSpansAsync(List<Activity> exported, ActivityTraceId traceId, Func<Activity[], bool> complete)
    {
        using var cts = new CancellationTokenSource(ExportWait);
        while (true)
        {
            var spans = TelemetryTestKit.SpansOf(exported, traceId);
            if (complete(spans))
            {
                return spans;
            }

            if (cts.IsCancellationRequested)
            {
                Assert.Fail($"The trace is incomplete after {ExportWait}: {string.Join(", ", spans.Select(s => $"{s.Kind} {s.OperationName}"))}; all: {string.Join(", ", exported.ToArray().Select(s => $"{s.TraceId} {s.OperationName}"))}");
            }

            await Task.Delay(50);
        }
    }

    /// <summary>The proxy's span of an incoming request: a server span carrying the routing decision.</summary>
    private static bool IsRequestSpan(Activity span) =>
        span.Kind == ActivityKind.Server && span.GetTagItem(ProxyTelemetry.KeyHashAttribute) is not null;

    private sealed class ActivityFeature(Activity activity) : Microsoft.AspNetCore.Http.Features.IHttpActivityFeature
    {
        public Activity Activity { get; set; } = activity;
    }

    private static IEnumerable<ActivitySpanId> Ancestors(Activity span, Dictionary<ActivitySpanId, Activity> byId)
    {
        for (var current = span; byId.TryGetValue(current.ParentSpanId, out var parent); current = parent)
        {
            yield return parent.SpanId;
        }
    }
}
