using System.Text.Json;

namespace LoadBalancer.ComposeGen.Manifest;

/// <summary>
/// The part of Aspire's deployment manifest (<c>--publisher manifest</c>) that the compose derivation reads:
/// resources in the AppHost's order, with their type, project path, environment and bindings.
/// </summary>
public sealed record AspireManifest(IReadOnlyList<ManifestResource> Resources)
{
    /// <summary>Reads a manifest file; project paths in it are relative to the file's folder.</summary>
    public static AspireManifest Load(string path)
    {
        using var stream = File.OpenRead(path);
        return Parse(stream, Path.GetDirectoryName(Path.GetFullPath(path))!);
    }

    /// <summary>Parses manifest JSON; <paramref name="baseDirectory"/> resolves the relative project paths.</summary>
    public static AspireManifest Parse(Stream json, string baseDirectory)
    {
        using var document = JsonDocument.Parse(json);
        var resources = new List<ManifestResource>();
        if (!document.RootElement.TryGetProperty("resources", out var all))
        {
            throw new InvalidDataException("The manifest has no 'resources' object.");
        }

        foreach (var resource in all.EnumerateObject())
        {
            var element = resource.Value;
            var type = element.TryGetProperty("type", out var t) ? t.GetString() ?? "" : "";
            var projectPath = element.TryGetProperty("path", out var p) && p.GetString() is { } relative
                ? Path.GetFullPath(Path.Combine(baseDirectory, relative))
                : null;
            resources.Add(new ManifestResource(
                resource.Name,
                type,
                projectPath,
                ReadStrings(element, "env"),
                ReadBindings(element),
                ReadParameterDefault(element),
                element.TryGetProperty("inputs", out var inputs) && inputs.TryGetProperty("value", out var input) &&
                    input.TryGetProperty("secret", out var secret) && secret.ValueKind == JsonValueKind.True));
        }

        return new AspireManifest(resources);
    }

    private static List<KeyValuePair<string, string>> ReadStrings(JsonElement element, string property)
    {
        var values = new List<KeyValuePair<string, string>>();
        if (element.TryGetProperty(property, out var map))
        {
            foreach (var entry in map.EnumerateObject())
            {
                values.Add(new(entry.Name, entry.Value.ValueKind == JsonValueKind.String ? entry.Value.GetString()! : entry.Value.GetRawText()));
            }
        }

        return values;
    }

    private static List<ManifestBinding> ReadBindings(JsonElement element)
    {
        var bindings = new List<ManifestBinding>();
        if (element.TryGetProperty("bindings", out var map))
        {
            foreach (var binding in map.EnumerateObject())
            {
                var b = binding.Value;
                bindings.Add(new ManifestBinding(
                    binding.Name,
                    b.TryGetProperty("scheme", out var scheme) ? scheme.GetString() ?? "http" : "http",
                    b.TryGetProperty("port", out var port) ? port.GetInt32() : null,
                    b.TryGetProperty("targetPort", out var target) ? target.GetInt32() : null,
                    b.TryGetProperty("external", out var external) && external.ValueKind == JsonValueKind.True));
            }
        }

        return bindings;
    }

    // A parameter's default is written as inputs.value.default.value (a literal); a generated default has no literal.
    private static string? ReadParameterDefault(JsonElement element) =>
        element.TryGetProperty("inputs", out var inputs) && inputs.TryGetProperty("value", out var input) &&
        input.TryGetProperty("default", out var @default) && @default.TryGetProperty("value", out var value)
            ? value.GetString()
            : null;
}

/// <summary>One resource of the manifest.</summary>
/// <param name="Name">The resource name (becomes the compose service and host name).</param>
/// <param name="Type">The manifest type, e.g. <c>project.v0</c> or <c>parameter.v0</c>.</param>
/// <param name="ProjectPath">Absolute path of the project file, for project resources.</param>
/// <param name="Environment">Environment variables in the AppHost's order; values may hold <c>{…}</c> expressions.</param>
/// <param name="Bindings">The resource's endpoints.</param>
/// <param name="ParameterDefault">A parameter's literal default value, if it has one.</param>
/// <param name="IsSecret">Whether a parameter is a secret.</param>
public sealed record ManifestResource(
    string Name,
    string Type,
    string? ProjectPath,
    IReadOnlyList<KeyValuePair<string, string>> Environment,
    IReadOnlyList<ManifestBinding> Bindings,
    string? ParameterDefault,
    bool IsSecret)
{
    public const string ProjectType = "project.v0";
    public const string ParameterType = "parameter.v0";
}

/// <summary>One endpoint of a resource (<c>bindings.&lt;name&gt;</c>).</summary>
/// <param name="Name">The endpoint name, e.g. <c>http</c>.</param>
/// <param name="Scheme">The URL scheme.</param>
/// <param name="Port">The port other resources and the host use, if fixed.</param>
/// <param name="TargetPort">The port the process listens on, if fixed.</param>
/// <param name="External">Whether the endpoint is meant to be reached from outside.</param>
public sealed record ManifestBinding(string Name, string Scheme, int? Port, int? TargetPort, bool External);
