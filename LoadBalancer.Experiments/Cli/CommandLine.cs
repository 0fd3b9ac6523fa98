using System.Globalization;

namespace LoadBalancer.Experiments.Cli;

/// <summary>The parsed command line: which experiments, how big, against what.</summary>
public sealed record CommandLine
{
    /// <summary>The usage text.</summary>
    public const string Usage = """
        Usage: LoadBalancer.Experiments <a1|a2|a3|a4|all> [options]
          --requests N      requests per measurement (default 10000; e.g. 500 for a smoke run)
          --concurrency N   requests in flight (default 32)
          --url URL         target a running proxy on 127.0.0.1 instead of starting the AppHost (A-1 only)
          --docs DIR        where RESULTS.md and images/ go (default: docs/ of the repository)
          --a3-seconds S    length of A-3's run (default 45)
          --a3-rate R       A-3's requests per second (default 200)
        """;

    /// <summary>The experiments to run, in order: a subset of a1..a4.</summary>
    public required IReadOnlyList<string> Experiments { get; init; }

    /// <summary>Requests per measurement.</summary>
    public int Requests { get; init; } = 10_000;

    /// <summary>Requests in flight.</summary>
    public int Concurrency { get; init; } = 32;

    /// <summary>A running proxy to target, or null to start the AppHost.</summary>
    public Uri? Url { get; init; }

    /// <summary>The docs folder, or null for the repository's.</summary>
    public string? DocsDirectory { get; init; }

    /// <summary>A-3's run length in seconds.</summary>
    public double OutageSeconds { get; init; } = 45;

    /// <summary>A-3's requests per second.</summary>
    public double OutageRate { get; init; } = 200;

    /// <summary>Parses <paramref name="args"/>; throws <see cref="FormatException"/> with a message for the user.</summary>
    public static CommandLine Parse(IReadOnlyList<string> args)
    {
        if (args.Count == 0)
        {
            throw new FormatException("Name an experiment: a1, a2, a3, a4 or all.");
        }

        string[] all = ["a1", "a2", "a3", "a4"];
        var command = args[0].ToLowerInvariant();
        var parsed = new CommandLine
        {
            Experiments = command == "all" ? all : all.Contains(command) ? [command] : throw new FormatException($"Unknown command '{args[0]}'."),
        };

        for (var i = 1; i < args.Count; i++)
        {
            var name = args[i];
            var value = i + 1 < args.Count ? args[++i] : throw new FormatException($"{name} needs a value.");
            parsed = name switch
            {
                "--requests" => parsed with { Requests = Positive(name, value) },
                "--concurrency" => parsed with { Concurrency = Positive(name, value) },
                "--url" => parsed with { Url = Uri.TryCreate(value, UriKind.Absolute, out var url) ? url : throw new FormatException($"--url '{value}' is not an absolute URL.") },
                "--docs" => parsed with { DocsDirectory = value },
                "--a3-seconds" => parsed with { OutageSeconds = Positive(name, value) },
                "--a3-rate" => parsed with { OutageRate = Positive(name, value) },
                _ => throw new FormatException($"Unknown option '{name}'."),
            };
        }

        return parsed;
    }

    private static int Positive(string name, string value) =>
        int.TryParse(value, NumberStyles.Integer, CultureInfo.InvariantCulture, out var number) && number > 0
            ? number
            : throw new FormatException($"{name} must be a positive whole number, not '{value}'.");
}
