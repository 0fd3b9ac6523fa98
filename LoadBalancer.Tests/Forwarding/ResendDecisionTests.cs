using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Proxy.Membership;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Forwarding;

/// <summary>
/// The one question whether a request may be sent again (<see cref="ForwardingRequest.ResendTarget"/>), asked of the
/// per-request state alone, and the retry decision built on it (<see cref="ProxyRequestHandler.DecideRetry"/>): the
/// question takes no budget slot, the decision takes one only for a retry that adds load.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Unit)]
public sealed class ResendDecisionTests
{
    private readonly FakeTimeProvider _time = new(DateTimeOffset.UtcNow);
    private readonly TableSnapshot _snapshot;

    public ResendDecisionTests()
    {
        var options = new BalancingOptions();
        var hash = BalancingAlgorithms.CreateHash(options);
        var servers = Enumerable.Range(1, 3).Select(i => new BackendServer($"server{i}", new Uri($"http://127.0.0.1:{5000 + i}")));
        _snapshot = new TableSnapshot(BalancingAlgorithms.Create(options).Build(servers, hash), hash, 1);
    }

    [Fact]
    public void An_idempotent_request_may_go_to_the_keys_next_untried_server()
    {
        var request = Start("GET");
        var first = request.Begin(request.FirstIndex);

        var next = request.ResendTarget(nothingSent: false);

        Assert.Equal(1, first);
        Assert.True(next >= 0);
        Assert.NotEqual(request.FirstIndex, next);
        Assert.Equal(_snapshot.Table.Pick(request.Hash, request.Tried), next);
    }

    [Fact]
    public void A_post_that_reached_its_server_is_not_sent_again_but_one_that_reached_none_is()
    {
        var request = Start("POST");
        request.Begin(request.FirstIndex);

        Assert.Equal(-1, request.ResendTarget(nothingSent: false));
        Assert.True(request.ResendTarget(nothingSent: true) >= 0);
    }

    [Fact]
    public void A_body_that_cannot_be_replayed_is_sent_again_only_when_nothing_was_sent()
    {
        var request = Start("PUT", hasBody: true, replayable: false);
        request.Begin(request.FirstIndex);

        Assert.Equal(-1, request.ResendTarget(nothingSent: false));
        Assert.True(request.ResendTarget(nothingSent: true) >= 0);
    }

    [Fact]
    public void No_resend_once_the_attempts_are_spent_or_every_server_was_tried()
    {
        var spent = Start("GET", maxAttempts: 2);
        spent.Begin(spent.FirstIndex);
        spent.Begin(spent.ResendTarget(nothingSent: false));
        Assert.Equal(-1, spent.ResendTarget(nothingSent: true));

        var all = Start("GET", maxAttempts: 5);
        all.Begin(all.FirstIndex);
        all.Begin(all.ResendTarget(nothingSent: false));
        all.Begin(all.ResendTarget(nothingSent: false));
        Assert.Equal(-1, all.ResendTarget(nothingSent: true));
    }

    [Fact]
    public void No_resend_after_the_deadline_once_the_client_left_or_once_the_response_started()
    {
        var late = Start("GET");
        late.Begin(late.FirstIndex);
        _time.Advance(TimeSpan.FromSeconds(31));
        Assert.Equal(-1, late.ResendTarget(nothingSent: true));

        using var gone = new CancellationTokenSource();
        var left = Start("GET");
        left.HttpContext.RequestAborted = gone.Token;
        left.Begin(left.FirstIndex);
        gone.Cancel();
        Assert.Equal(-1, left.ResendTarget(nothingSent: true));

        var started = Start("GET");
        started.HttpContext.Features.Set<IHttpResponseFeature>(new StartedResponse());
        started.Begin(started.FirstIndex);
        Assert.Equal(-1, started.ResendTarget(nothingSent: true));
    }

    [Fact]
    public void The_question_takes_no_budget_slot_and_the_decision_takes_one_only_for_a_retry_that_adds_load()
    {
        // A budget with no room at all: any slot taken would show, and a retry that needs one is refused.
        var budget = new RetryBudget(Options.Create(new RetryOptions { BudgetPercent = 0, MinRetryConcurrency = 0 }));
        var request = Start("GET", budget: budget);
        request.Begin(request.FirstIndex);

        Assert.True(request.ResendTarget(nothingSent: false) >= 0);
        Assert.True(request.ResendTarget(nothingSent: false) >= 0);
        Assert.Equal(0, budget.Retrying);
        Assert.False(request.HoldsRetrySlot);
        Assert.False(request.RetryRefused);

        Assert.True(ProxyRequestHandler.DecideRetry(request, nothingSent: true));
        Assert.False(request.RetryRefused);

        Assert.False(ProxyRequestHandler.DecideRetry(request, nothingSent: false));
        Assert.True(request.RetryRefused);
        Assert.Equal(0, budget.Retrying);
    }

    [Fact]
    public void A_retry_that_adds_load_holds_one_budget_slot_for_the_rest_of_the_request()
    {
        var budget = new RetryBudget(Options.Create(new RetryOptions { BudgetPercent = 50, MinRetryConcurrency = 1 }));
        budget.RequestStarted();
        var request = Start("GET", budget: budget);
        request.Begin(request.FirstIndex);

        Assert.True(ProxyRequestHandler.DecideRetry(request, nothingSent: false));
        request.Begin(request.ResendTarget(nothingSent: false));
        Assert.True(ProxyRequestHandler.DecideRetry(request, nothingSent: false));

        Assert.True(request.HoldsRetrySlot);
        Assert.Equal(1, budget.Retrying);
    }

    private ForwardingRequest Start(string method, bool hasBody = false, bool replayable = true, int maxAttempts = 3, RetryBudget? budget = null)
    {
        var context = new DefaultHttpContext();
        context.Request.Method = method;
        var retry = new RetryOptions { MaxAttempts = maxAttempts, TotalTimeout = TimeSpan.FromSeconds(30) };
        var idempotent = method is "GET" or "PUT" or "DELETE";
        var hash = 0x9E3779B97F4A7C15UL;
        var request = new ForwardingRequest(_time, observers: 0, new SocketsHttpHandler());
        request.Initialize(null!, context, _snapshot, hash, _snapshot.Table.Pick(hash, []), retry, budget, idempotent, hasBody, replayable, hedging: false);
        return request;
    }

    private sealed class StartedResponse : HttpResponseFeature
    {
        public override bool HasStarted => true;
    }
}
