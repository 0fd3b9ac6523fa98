using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Forwarding;

/// <summary>
/// Caps how many requests may be retrying at once (<see cref="RetryOptions.BudgetPercent"/> of those in flight, at least
/// <see cref="RetryOptions.MinRetryConcurrency"/>), as Envoy's retry budget does: when the servers are slow or failing
/// across the board, retries would only multiply their load, so past the budget a failure goes to the client instead.
/// A retry of an attempt that reached no server (connection refused, breaker open) adds no load and is not counted;
/// nor is one that moves a dead or hung server's request (a connection dropped unanswered, the hedge of a request whose
/// server left routing).
/// </summary>
/// <remarks>Two interlocked counters; a request holds at most one slot, from its first counted retry to its end.</remarks>
public sealed class RetryBudget
{
    private readonly int _percent;
    private readonly int _minimum;
    private int _active;
    private int _retrying;

    /// <summary>Creates the budget from <paramref name="options"/>.</summary>
    public RetryBudget(IOptions<RetryOptions> options)
    {
        _percent = options.Value.BudgetPercent;
        _minimum = options.Value.MinRetryConcurrency;
    }

    /// <summary>Whether the budget limits anything (a percentage of 100 leaves every request free to retry).</summary>
    public bool Enabled => _percent < 100;

    /// <summary>Requests in flight.</summary>
    public int Active => Volatile.Read(ref _active);

    /// <summary>Requests holding a retry slot.</summary>
    public int Retrying => Volatile.Read(ref _retrying);

    /// <summary>A request began.</summary>
    public void RequestStarted() => Interlocked.Increment(ref _active);

    /// <summary>A request ended; <paramref name="heldSlot"/> returns its retry slot.</summary>
    public void RequestEnded(bool heldSlot)
    {
        Interlocked.Decrement(ref _active);
        if (heldSlot)
        {
            Interlocked.Decrement(ref _retrying);
        }
    }

    /// <summary>Takes a retry slot if the budget has one.</summary>
    public bool TryAcquire()
    {
        var retrying = Interlocked.Increment(ref _retrying);
        if (retrying <= Math.Max(_minimum, (long)Volatile.Read(ref _active) * _percent / 100))
        {
            return true;
        }

        Interlocked.Decrement(ref _retrying);
        return false;
    }
}
