using System.Globalization;
using System.Text;
using YamlDotNet.RepresentationModel;

namespace LoadBalancer.ComposeGen.Compose;

/// <summary>Writes the derived compose document (and its <c>.env.example</c>) and reads a committed one back.</summary>
public static class ComposeFile
{
    /// <summary>The file name of the variables template written beside the compose file when parameters exist.</summary>
    public const string EnvironmentTemplate = ".env.example";

    private const string Header =
        "# Generated from the AppHost's Aspire manifest by tools/LoadBalancer.ComposeGen: do not edit by hand.\n" +
        "# Regenerate with scripts/generate-compose.sh (e.g. scripts/generate-compose.sh LoadBalancer:Servers=5);\n" +
        "# a test fails when this file no longer matches the AppHost. See the Plain Docker section of README.md.\n";

    /// <summary>The compose file's text.</summary>
    public static string ToYaml(ComposeModel model) => ToYaml(model.Document, Header);

    /// <summary>The YAML text of <paramref name="node"/> under the comment lines <paramref name="header"/>.</summary>
    public static string ToYaml(YamlNode node, string header)
    {
        var text = new StringBuilder(header);
        using (var writer = new StringWriter(text) { NewLine = "\n" })
        {
            new YamlStream(new YamlDocument(node)).Save(writer, assignAnchors: false);
        }

        // YamlStream closes the document with an explicit end marker, which neither compose nor kustomize needs.
        var yaml = text.ToString().TrimEnd();
        return (yaml.EndsWith("\n...", StringComparison.Ordinal) ? yaml[..^4] : yaml) + "\n";
    }

    /// <summary>The <c>.env.example</c> text listing the variables the compose file reads, or null when it reads none.</summary>
    public static string? ToEnvironmentTemplate(ComposeModel model)
    {
        if (model.Variables.Count == 0)
        {
            return null;
        }

        var text = new StringBuilder(
            "# Variables docker-compose.yml reads, one per AppHost parameter. Copy to .env (never commit .env) and fill in.\n");
        foreach (var variable in model.Variables)
        {
            text.Append(CultureInfo.InvariantCulture,
                $"# AppHost parameter '{variable.Parameter}'{(variable.IsSecret ? " (secret)" : "")}{(variable.Default is null ? ", required" : ", optional")}{(variable.Note is null ? "" : ": " + variable.Note)}\n");
            text.Append(CultureInfo.InvariantCulture, $"{variable.Name}={variable.Default ?? ""}\n");
        }

        return text.ToString();
    }

    /// <summary>Writes <paramref name="model"/> to <paramref name="path"/> and, when it reads variables, <c>.env.example</c> beside it.</summary>
    public static void Write(ComposeModel model, string path)
    {
        File.WriteAllText(path, ToYaml(model));
        if (ToEnvironmentTemplate(model) is { } template)
        {
            File.WriteAllText(Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, EnvironmentTemplate), template);
        }
    }

    /// <summary>Parses compose YAML text into its root node.</summary>
    public static YamlNode Parse(string yaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(yaml));
        return stream.Documents.Count == 0 ? new YamlMappingNode() : stream.Documents[0].RootNode;
    }
}
