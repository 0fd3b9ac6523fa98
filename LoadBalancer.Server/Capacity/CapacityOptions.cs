using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Server.Capacity;

/// <summary>
/// A bench-only model of a server with bounded capacity, a cache or a stateful backend (configuration section
/// <c>Capacity</c>): each <c>/home</c> request takes <see cref="ServiceTime"/>, at most <see cref="ConcurrencyLimit"/>
/// are served at once and at most <see cref="QueueLimit"/> more wait; beyond that the server answers 503. Off by
/// default: with every setting at its default the server is exactly the assignment's.
/// </summary>
public sealed class CapacityOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Capacity";

    /// <summary>The most <see cref="ServiceTime"/> may be: a bench models milliseconds, not minutes.</summary>
    public const string MaxServiceTime = "00:00:10";

    /// <summary>How long each <c>/home</c> request is held once it is being served; zero serves at once.</summary>
    [Range(typeof(TimeSpan), "00:00:00", MaxServiceTime, ErrorMessage = "Capacity:ServiceTime must be from 00:00:00 to " + MaxServiceTime + ".")]
    public TimeSpan ServiceTime { get; set; } = TimeSpan.Zero;

    /// <summary><c>/home</c> requests served at once; 0 means no limit.</summary>
    [Range(0, 100_000, ErrorMessage = "Capacity:ConcurrencyLimit must be from 0 (no limit) to 100000.")]
    public int ConcurrencyLimit { get; set; }

    /// <summary>Requests that may wait, oldest first, while <see cref="ConcurrencyLimit"/> are served; more get a 503.</summary>
    [Range(0, 1_000_000, ErrorMessage = "Capacity:QueueLimit must be from 0 to 1000000.")]
    public int QueueLimit { get; set; }

    /// <summary>True when any setting changes how the server answers.</summary>
    public bool Enabled => ServiceTime > TimeSpan.Zero || ConcurrencyLimit > 0;
}

/// <summary>Cross-field rules of <see cref="CapacityOptions"/>.</summary>
internal sealed class CapacityOptionsValidator : IValidateOptions<CapacityOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, CapacityOptions options) =>
        options.QueueLimit > 0 && options.ConcurrencyLimit == 0
            ? ValidateOptionsResult.Fail($"Capacity:QueueLimit is {options.QueueLimit} but Capacity:ConcurrencyLimit is 0 (no limit), so nothing would ever queue; set Capacity:ConcurrencyLimit too.")
            : ValidateOptionsResult.Success;
}
