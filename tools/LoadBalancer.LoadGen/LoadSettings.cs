using System.Globalization;

namespace LoadBalancer.LoadGen;

/// <summary>One run: where, how fast, how long, which ids. Parsed from the command line.</summary>
internal sealed record LoadSettings
{
    public const string Usage =
        "Usage: LoadBalancer.LoadGen --url URL [--rate 1000] [--duration 10] [--warmup 2] [--zipf-s 1.0] [--ids 10000] " +
        "[--seed 1] [--timeout 5] [--max-in-flight 20000] [--servers 3] [--balance-factor 1.25] [--label NAME] [--out FILE] " +
        "[--reset URL,URL...] [--prewarm 16] [--slow-ms 1000] [--started FILE] [--records FILE]";

    /// <summary>The target; requests go to <c>{Url}/home?id=…</c>.</summary>
    public required Uri Url { get; init; }

    /// <summary>Requests per second, scheduled by the clock.</summary>
    public double Rate { get; init; } = 1000;

    /// <summary>The measured seconds, after <see cref="Warmup"/>.</summary>
    public double Duration { get; init; } = 10;

    /// <summary>Seconds sent at the same rate first and not counted (connections opened, JIT done).</summary>
    public double Warmup { get; init; } = 2;

    /// <summary>The Zipf exponent s: rank k is asked with probability ∝ 1/k^s; 0 is uniform.</summary>
    public double ZipfS { get; init; } = 1.0;

    /// <summary>Distinct ids.</summary>
    public int Ids { get; init; } = 10_000;

    /// <summary>Seed of the ids and of the draws, so every target gets the same sequence.</summary>
    public int Seed { get; init; } = 1;

    /// <summary>Seconds a request may take before it counts as a timeout.</summary>
    public double Timeout { get; init; } = 5;

    /// <summary>Requests outstanding at most; one more is not sent and counts as an error (the generator's own limit).</summary>
    public int MaxInFlight { get; init; } = 20_000;

    /// <summary>Servers behind the target, for the bounded-load check (⌈c × total in flight / servers⌉).</summary>
    public int Servers { get; init; } = 3;

    /// <summary>The c of the bounded-load check.</summary>
    public double BalanceFactor { get; init; } = 1.25;

    /// <summary>A name for the target in the summary.</summary>
    public string Label { get; init; } = "target";

    /// <summary>Where the JSON summary goes; standard output when null.</summary>
    public string? Out { get; init; }

    /// <summary>
    /// URLs POSTed to when the measured window begins (after <see cref="Warmup"/>): the servers' <c>/capacity/reset</c>,
    /// so their peaks cover the measured window only.
    /// </summary>
    public IReadOnlyList<Uri> ResetUrls { get; init; } = [];

    /// <summary>Requests sent at once, three times, before the clock starts (connections opened, code compiled); 0 none.</summary>
    public int Prewarm { get; init; } = 16;

    /// <summary>A request whose latency is above this many milliseconds counts as delayed (<see cref="SlowCount"/> in the summary).</summary>
    public double SlowMs { get; init; } = 1000;

    /// <summary>
    /// A file written when the clock starts (after the prewarm), holding that instant in Unix milliseconds, so a script
    /// can act at a fixed offset into the schedule (bench/failover.sh injects its fault so); none when null.
    /// </summary>
    public string? StartedFile { get; init; }

    /// <summary>A CSV file with one line per request (when it was due, sent and done, who answered, how); none when null.</summary>
    public string? RecordsFile { get; init; }

    /// <summary>Parses <paramref name="args"/>; an error message when they are not valid.</summary>
    public static LoadSettings Parse(string[] args)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Length; i++)
        {
            if (!args[i].StartsWith("--", StringComparison.Ordinal) || i + 1 >= args.Length)
            {
                throw new ArgumentException($"'{args[i]}' is not an option with a value.");
            }

            values[args[i][2..]] = args[++i];
        }

        string? Take(string name) => values.Remove(name, out var value) ? value : null;
        double Number(string name, double fallback, double min, double max)
        {
            var text = Take(name);
            if (text is null)
            {
                return fallback;
            }

            if (!double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
            {
                throw new ArgumentException($"--{name} is '{text}'; it must be a number from {min} to {max}.");
            }

            return value;
        }

        var url = Take("url") ?? throw new ArgumentException("--url is required.");
        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            throw new ArgumentException($"--url '{url}' is not an http(s) URL.");
        }

        var settings = new LoadSettings
        {
            Url = uri,
            Rate = Number("rate", 1000, 1, 1_000_000),
            Duration = Number("duration", 10, 0.1, 3600),
            Warmup = Number("warmup", 2, 0, 600),
            ZipfS = Number("zipf-s", 1.0, 0, 10),
            Ids = (int)Number("ids", 10_000, 1, 900_000),
            Seed = (int)Number("seed", 1, int.MinValue, int.MaxValue),
            Timeout = Number("timeout", 5, 0.01, 600),
            MaxInFlight = (int)Number("max-in-flight", 20_000, 1, 1_000_000),
            Servers = (int)Number("servers", 3, 1, 10_000),
            BalanceFactor = Number("balance-factor", 1.25, 1, 100),
            Prewarm = (int)Number("prewarm", 16, 0, 10_000),
            SlowMs = Number("slow-ms", 1000, 0, 3_600_000),
            StartedFile = Take("started"),
            RecordsFile = Take("records"),
            Label = Take("label") ?? "target",
            Out = Take("out"),
            ResetUrls = (Take("reset") ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Select(text => Uri.TryCreate(text, UriKind.Absolute, out var reset) ? reset : throw new ArgumentException($"--reset '{text}' is not a URL."))
                .ToArray(),
        };
        if (values.Count > 0)
        {
            throw new ArgumentException($"Unknown option(s): {string.Join(", ", values.Keys.Select(k => "--" + k))}.");
        }

        if ((settings.Warmup + settings.Duration) * settings.Rate > 50_000_000)
        {
            throw new ArgumentException("More than 50 million requests in one run: shorten --duration or lower --rate.");
        }

        return settings;
    }
}
