using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using LoadBalancer.Experiments.Runs;

namespace LoadBalancer.Experiments.Reporting;

/// <summary>
/// Writes <c>docs/RESULTS.md</c>: a header on how the figures were made, then one section per experiment. Running one
/// experiment replaces its own section and keeps the others, so <c>a3</c> alone does not erase A-1's figures.
/// </summary>
public static partial class ResultsDocument
{
    /// <summary>The file name under the docs folder.</summary>
    public const string FileName = "RESULTS.md";

    private static readonly string[] Order = [ExperimentA1.Key, ExperimentA2.Key, ExperimentA3.Key, ExperimentA4.Key];

    /// <summary>Merges <paramref name="reports"/> into the document at <paramref name="path"/> and writes it.</summary>
    public static void Write(string path, IEnumerable<ExperimentReport> reports, string header)
    {
        var sections = File.Exists(path) ? ReadSections(File.ReadAllText(path)) : new Dictionary<string, string>();
        foreach (var report in reports)
        {
            sections[report.Key] = report.Markdown.Trim();
        }

        var text = new StringBuilder();
        text.AppendLine("# Experiment results").AppendLine();
        text.AppendLine("Written by `LoadBalancer.Experiments` (see docs/benchmarks.md to reproduce); do not edit by hand.").AppendLine();
        text.AppendLine(header.Trim()).AppendLine();
        foreach (var key in Order.Where(sections.ContainsKey))
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"<!-- {key} -->");
            text.AppendLine(sections[key]);
            text.AppendLine(CultureInfo.InvariantCulture, $"<!-- /{key} -->").AppendLine();
        }

        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        File.WriteAllText(path, text.ToString());
    }

    /// <summary>The sections of an existing document by key.</summary>
    public static Dictionary<string, string> ReadSections(string document)
    {
        var sections = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (Match match in SectionPattern().Matches(document))
        {
            sections[match.Groups["key"].Value] = match.Groups["body"].Value.Trim();
        }

        return sections;
    }

    /// <summary>The header: when, where and how the figures were made.</summary>
    public static string Header(ExperimentSettings settings, string launcher, TimeProvider time) => $"""
        | | |
        |---|---|
        | date | {time.GetUtcNow():yyyy-MM-dd HH:mm} UTC |
        | machine | {Environment.ProcessorCount} cores, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}, .NET {Environment.Version} |
        | system | {launcher} |
        | requests per measurement | {settings.Requests.ToString("N0", CultureInfo.InvariantCulture)}, {settings.Concurrency} in flight, random six-digit ids, 127.0.0.1 only |

        The machine is shared with other builds while these figures are taken: distributions are exact, times are noisy.
        """;

    [GeneratedRegex(@"<!-- (?<key>A-\d) -->(?<body>.*?)<!-- /\k<key> -->", RegexOptions.Singleline)]
    private static partial Regex SectionPattern();
}
