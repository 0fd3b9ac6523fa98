namespace LoadBalancer.Tests.Browser;

/// <summary>
/// A test that drives Debian's chromium (<c>/usr/bin/chromium</c>, installed by <c>.ci/run</c> with apt). Skipped, with
/// the reason, where the browser is absent: the test never installs or downloads a browser itself.
/// </summary>
public sealed class ChromiumFactAttribute : FactAttribute
{
    /// <summary>Where Debian's chromium package puts the browser.</summary>
    public const string ExecutablePath = "/usr/bin/chromium";

    public ChromiumFactAttribute()
    {
        if (!File.Exists(ExecutablePath))
        {
            Skip = $"{ExecutablePath} is absent: install Debian's chromium (apt-get install -y chromium) to run the browser tests.";
        }
    }
}
