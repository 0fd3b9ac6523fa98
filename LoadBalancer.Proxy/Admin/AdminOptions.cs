using System.ComponentModel.DataAnnotations;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Admin;

/// <summary>The admin API's settings (configuration section <c>Admin</c>).</summary>
public sealed class AdminOptions
{
    /// <summary>The configuration section.</summary>
    public const string SectionName = "Admin";

    /// <summary>The shortest key accepted: a short key could be guessed.</summary>
    public const int MinimumKeyLength = 16;

    /// <summary>
    /// The key callers present as <c>Authorization: Bearer &lt;key&gt;</c>. When empty, only loopback callers are accepted.
    /// </summary>
    public string? ApiKey { get; set; }

    /// <summary>The largest request body accepted, in bytes; larger bodies get 413 before they are read whole.</summary>
    [Range(64, 1024 * 1024)]
    public int MaxBodyBytes { get; set; } = 64 * 1024;

    /// <summary>The largest <c>n</c> one <c>/add</c> or <c>/rm</c> accepts.</summary>
    [Range(1, 1024)]
    public int MaxInstances { get; set; } = 64;

    /// <summary>
    /// A file that keeps the admin changes across restarts (see <see cref="AdminStateFile"/>); empty keeps them in memory
    /// only. Its directory must exist.
    /// </summary>
    public string? StateFile { get; set; }

    /// <summary>True when a key is configured.</summary>
    public bool HasKey => !string.IsNullOrEmpty(ApiKey);
}

/// <summary>Checks <see cref="AdminOptions"/> beyond what attributes can say.</summary>
internal sealed class AdminOptionsValidator : IValidateOptions<AdminOptions>
{
    public ValidateOptionsResult Validate(string? name, AdminOptions options)
    {
        if (options.HasKey && (options.ApiKey!.Length < AdminOptions.MinimumKeyLength || options.ApiKey.Any(char.IsWhiteSpace)))
        {
            return ValidateOptionsResult.Fail($"Admin:ApiKey must be at least {AdminOptions.MinimumKeyLength} characters without spaces (or empty to allow loopback callers only).");
        }

        if (!string.IsNullOrEmpty(options.StateFile))
        {
            var full = Path.GetFullPath(options.StateFile);
            if (Directory.Exists(full) || !Directory.Exists(Path.GetDirectoryName(full)))
            {
                return ValidateOptionsResult.Fail($"Admin:StateFile '{options.StateFile}' must name a file in an existing directory (or be empty to keep admin changes in memory only).");
            }
        }

        return ValidateOptionsResult.Success;
    }
}
