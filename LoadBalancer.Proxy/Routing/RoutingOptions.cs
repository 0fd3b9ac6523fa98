using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Routing;

/// <summary>Where a request's routing key comes from (configuration section <c>Routing</c>).</summary>
public sealed class RoutingOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Routing";

    /// <summary>The sources tried in order; the first that yields a key wins. Default: query, header, client address.</summary>
    public RoutingKeySource[]? KeySources { get; set; }

    /// <summary>The query parameter read by <see cref="RoutingKeySource.Query"/>.</summary>
    [Required(AllowEmptyStrings = false)]
    public string QueryParameter { get; set; } = "id";

    /// <summary>The header read by <see cref="RoutingKeySource.Header"/>.</summary>
    [Required(AllowEmptyStrings = false)]
    public string Header { get; set; } = "X-Request-Id";

    /// <summary>The cookie read by <see cref="RoutingKeySource.Cookie"/> (names are case-sensitive, as RFC 6265 says).</summary>
    [Required(AllowEmptyStrings = false)]
    [RegularExpression("^[!#$%&'*+.^_`|~0-9A-Za-z-]+$", ErrorMessage = "Routing:Cookie must be a cookie name (an RFC 6265 token).")]
    public string Cookie { get; set; } = "session";

    /// <summary>The sources in effect.</summary>
    public RoutingKeySource[] EffectiveKeySources =>
        KeySources is { Length: > 0 } ? KeySources : [RoutingKeySource.Query, RoutingKeySource.Header, RoutingKeySource.ClientAddress];
}

/// <summary>
/// Checks <c>Routing:KeySources</c> as written: the configuration binder drops an array element it cannot convert, so a
/// misspelt source would otherwise vanish without a word and route by the next one.
/// </summary>
internal sealed class RoutingOptionsValidator(IConfiguration configuration) : IValidateOptions<RoutingOptions>
{
    public ValidateOptionsResult Validate(string? name, RoutingOptions options)
    {
        var failures = new List<string>();
        foreach (var source in configuration.GetSection($"{RoutingOptions.SectionName}:{nameof(RoutingOptions.KeySources)}").GetChildren())
        {
            if (!Enum.TryParse<RoutingKeySource>(source.Value, ignoreCase: true, out var parsed)
                || !Enum.IsDefined(parsed)
                || source.Value!.Any(char.IsAsciiDigit))
            {
                failures.Add($"Routing:KeySources:{source.Key} '{source.Value}' is not a key source; use {string.Join(", ", Enum.GetNames<RoutingKeySource>())}.");
            }
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
