using System.Collections;
using System.Globalization;
using System.Reflection;
using System.Text.RegularExpressions;
using LoadBalancer.AppHost;
using LoadBalancer.Proxy;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Server;
using LoadBalancer.Tests.Compose;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Configuration;

/// <summary>
/// A setting's default is written once, as the initial value of its options class's property; the docs' settings tables
/// (every <c>| setting | default | meaning |</c> table of the pages below) are checked against a fresh instance.
/// </summary>
[Trait(TestCategories.Name, TestCategories.Unit)]
public sealed partial class OptionsDocumentationTests
{
    /// <summary>The pages that hold settings tables (configuration.md links to hardening.md's).</summary>
    private static readonly string[] Pages = ["docs/configuration.md", "docs/hardening.md"];

    /// <summary>Rows whose default belongs to no options class, and why.</summary>
    private static readonly Dictionary<string, string> NotOptions = new(StringComparer.Ordinal)
    {
        ["Kestrel:Limits:MaxConcurrentConnections"] = "Kestrel's own setting; unset, the proxy derives the limit (Connections)",
        ["Proxy:*"] = "a prefix the AppHost passes on to the proxy, not a setting",
        ["Parameters:admin-key"] = "an Aspire parameter, generated at every run",
    };

    /// <summary>Rows whose default the class computes rather than holds in a property.</summary>
    private static readonly Dictionary<string, Func<string>> Computed = new(StringComparer.Ordinal)
    {
        ["Balancing:Weights:<server>"] = () => Format(new BalancingOptions().WeightOf("server1"), typeof(int)),
    };

    /// <summary>Every settings class: a type with a <c>SectionName</c> constant, in the proxy, the AppHost and the server.</summary>
    private static readonly Dictionary<string, Type> OptionsBySection = new[]
        {
            typeof(ProxyApplication).Assembly, typeof(AppHostOptions).Assembly, typeof(ServerOptions).Assembly,
        }
        .SelectMany(assembly => assembly.GetTypes())
        .Where(type => type.Name.EndsWith("Options", StringComparison.Ordinal) && SectionOf(type) is not null)
        .ToDictionary(type => SectionOf(type)!, StringComparer.Ordinal);

    [Fact]
    public void Every_documented_default_is_the_default_of_its_options_class()
    {
        var problems = Check(Pages.SelectMany(page => Rows(page, File.ReadAllText(Path.Combine(AppHostManifest.RepositoryRoot, page)))));

        Assert.True(problems.Count == 0, "The docs and the options classes disagree:\n" + string.Join("\n", problems));
    }

    [Fact]
    public void Every_setting_of_an_options_class_has_a_row()
    {
        var documented = Pages
            .SelectMany(page => Rows(page, File.ReadAllText(Path.Combine(AppHostManifest.RepositoryRoot, page))))
            .Select(row => row.Setting)
            .ToList();

        var missing = OptionsBySection
            .SelectMany(entry => Settable(entry.Value).Select(property => $"{entry.Key}:{property.Name}"))
            .Where(setting => !documented.Any(row => row == setting || row.StartsWith(setting + ":", StringComparison.Ordinal)))
            .ToList();

        Assert.True(missing.Count == 0, $"No row in {string.Join(" or ", Pages)} for: {string.Join(", ", missing)}");
    }

    [Fact]
    public void The_check_names_a_row_whose_default_differs_from_the_class_and_one_no_class_has()
    {
        const string Page = """
            | setting | default | meaning |
            |---|---|---|
            | `Health:Interval` | `00:00:02` | time between probe rounds |
            | `Health:Timeout` | `00:00:00.500` | one probe's timeout |
            | `Routing:KeySources` | `Query, Header` | where the key comes from |
            | `Health:Intervall` | `00:00:01` | misspelt |
            | `Health:Interval` | `00:00:01` | twice |
            """;

        var problems = Check(Rows("page.md", Page));

        Assert.Equal(
        [
            "page.md: Health:Interval: the page says '00:00:02', HealthOptions gives '00:00:01'",
            "page.md: Routing:KeySources: the page says 'Query, Header', RoutingOptions gives 'Query, Header, ClientAddress'",
            "page.md: Health:Intervall: HealthOptions has no settable property Intervall",
            "page.md: Health:Interval: documented more than once",
        ], problems);
    }

    private static List<string> Check(IEnumerable<Row> rows)
    {
        var problems = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        foreach (var row in rows)
        {
            if (!seen.Add(row.Setting))
            {
                problems.Add($"{row.Page}: {row.Setting}: documented more than once");
                continue;
            }

            if (NotOptions.ContainsKey(row.Setting))
            {
                continue;
            }

            string expected;
            string owner;
            if (Computed.TryGetValue(row.Setting, out var compute))
            {
                expected = compute();
                owner = "the options class";
            }
            else if (!TryDefaultOf(row.Setting, out expected, out owner, out var problem))
            {
                problems.Add($"{row.Page}: {row.Setting}: {problem}");
                continue;
            }

            if (row.Default != expected)
            {
                problems.Add($"{row.Page}: {row.Setting}: the page says '{row.Default}', {owner} gives '{expected}'");
            }
        }

        return problems;
    }

    private static bool TryDefaultOf(string setting, out string value, out string owner, out string problem)
    {
        value = owner = problem = "";
        var parts = setting.Split(':');
        if (parts.Length != 2 || !OptionsBySection.TryGetValue(parts[0], out var type))
        {
            problem = $"no options class has the section '{parts[0]}' (or add the row to {nameof(NotOptions)} with the reason)";
            return false;
        }

        owner = type.Name;
        var property = Settable(type).FirstOrDefault(p => p.Name == parts[1]);
        if (property is null)
        {
            problem = $"{type.Name} has no settable property {parts[1]}";
            return false;
        }

        var instance = Activator.CreateInstance(type)!;
        var current = property.GetValue(instance);
        // A list left null means "the class's own choice", which it shows as Effective<Name> (Routing:KeySources).
        if (current is null && type.GetProperty("Effective" + property.Name) is { } effective)
        {
            current = effective.GetValue(instance);
        }

        value = Format(current, property.PropertyType);
        return true;
    }

    private static IEnumerable<PropertyInfo> Settable(Type type) =>
        type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod is { IsPublic: true });

    private static string? SectionOf(Type type) =>
        type.GetField("SectionName", BindingFlags.Public | BindingFlags.Static) is { IsLiteral: true } field ? field.GetValue(null) as string : null;

    /// <summary>A value as the docs write it: TimeSpan as <c>00:00:02</c> (milliseconds only when there are some), enums by name, lists joined with ", ".</summary>
    private static string Format(object? value, Type type) => value switch
    {
        null => Nullable.GetUnderlyingType(type) is not null ? "none" : "empty",
        string { Length: 0 } => "empty",
        string text => text,
        bool flag => flag ? "true" : "false",
        TimeSpan span => FormatTimeSpan(span),
        Enum named => named.ToString(),
        IFormattable number => number.ToString(null, CultureInfo.InvariantCulture),
        IEnumerable items => string.Join(", ", items.Cast<object>().Select(item => Format(item, item.GetType()))),
        _ => value.ToString() ?? "",
    };

    private static string FormatTimeSpan(TimeSpan span)
    {
        var text = span.ToString(span.Days > 0 ? @"d\.hh\:mm\:ss" : @"hh\:mm\:ss", CultureInfo.InvariantCulture);
        return span.Milliseconds == 0 ? text : $"{text}.{span.Milliseconds:D3}";
    }

    /// <summary>The rows of every settings table on <paramref name="markdown"/>: the setting (the cell's first
    /// <c>Section:Name</c> in backticks) and its default without backticks.</summary>
    private static IEnumerable<Row> Rows(string page, string markdown)
    {
        var inTable = false;
        foreach (var raw in markdown.Split('\n'))
        {
            var line = raw.Trim();
            if (SettingsHeader().IsMatch(line))
            {
                inTable = true;
                continue;
            }

            if (!inTable || !line.StartsWith('|'))
            {
                inTable = false;
                continue;
            }

            var cells = line.Split('|');
            if (cells.Length < 4 || cells[1].TrimStart().StartsWith("---", StringComparison.Ordinal))
            {
                continue;
            }

            var names = CodeSpan().Matches(cells[1]).Select(m => m.Groups[1].Value).ToList();
            var setting = names.FirstOrDefault(name => name.Contains(':', StringComparison.Ordinal)) ?? names.FirstOrDefault() ?? cells[1].Trim();
            yield return new Row(page, setting, cells[2].Replace("`", "", StringComparison.Ordinal).Trim());
        }
    }

    private sealed record Row(string Page, string Setting, string Default);

    [GeneratedRegex(@"^\|\s*setting\s*\|\s*default\s*\|")]
    private static partial Regex SettingsHeader();

    [GeneratedRegex("`([^`]+)`")]
    private static partial Regex CodeSpan();
}
