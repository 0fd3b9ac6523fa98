using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using LoadBalancer.ComposeGen.Manifest;

namespace LoadBalancer.ComposeGen.Compose;

/// <summary>
/// Turns a manifest value with <c>{resource.property}</c> expressions into its compose form: endpoints become
/// container addresses on the compose network, parameters become compose variables (<c>${NAME}</c>).
/// </summary>
internal sealed partial class ManifestExpressions(IReadOnlyDictionary<string, ManifestResource> resources)
{
    /// <summary>Translates <paramref name="value"/>, an environment value of <paramref name="owner"/>.</summary>
    /// <param name="value">The manifest value.</param>
    /// <param name="owner">The resource whose value it is (for error messages).</param>
    /// <param name="references">Receives the project resources the value points at.</param>
    /// <param name="parameters">Receives the parameter resources the value reads.</param>
    public string Translate(string value, string owner, ISet<string> references, ISet<string> parameters)
    {
        var result = new StringBuilder();
        foreach (var part in ManifestValue.Split(value))
        {
            result.Append(part.Resource is null ? Literal(part.Text) : Resolve(part.Resource, part.Path!, owner, references, parameters));
        }

        return result.ToString();
    }

    // In compose a '$' starts a variable, so literal text doubles it.
    private static string Literal(string text) => text.Replace("$", "$$", StringComparison.Ordinal);

    /// <summary>The compose variable that carries parameter <paramref name="name"/>: <c>admin-key</c> → <c>ADMIN_KEY</c>.</summary>
    public static string VariableName(string name) =>
        NotVariableCharacter().Replace(name, "_").ToUpperInvariant();

    private string Resolve(string name, string path, string owner, ISet<string> references, ISet<string> parameters)
    {
        if (!resources.TryGetValue(name, out var target))
        {
            throw Unsupported(owner, name, path, $"no resource named '{name}' in the manifest");
        }

        if (target.Type == ManifestResource.ParameterType && path == "value")
        {
            parameters.Add(name);
            var variable = VariableName(name);
            return target.ParameterDefault is { } fallback
                ? $"${{{variable}:-{Literal(fallback)}}}"
                : $"${{{variable}}}";
        }

        var parts = path.Split('.');
        if (target.Type == ManifestResource.ProjectType && parts is ["bindings", var endpoint, var property] &&
            target.Bindings.FirstOrDefault(b => b.Name == endpoint) is { } binding)
        {
            if (name != owner)
            {
                references.Add(name);
            }

            var port = ComposeGenerator.ContainerPortOf(target, binding).ToString(CultureInfo.InvariantCulture);
            return property switch
            {
                // Every container numbers its ports alike; the service name is its host name on the compose network.
                "url" => $"{binding.Scheme}://{name}:{port}",
                "host" => name,
                "port" or "targetPort" => port,
                "scheme" => binding.Scheme,
                _ => throw Unsupported(owner, name, path, $"binding property '{property}' is not mapped"),
            };
        }

        throw Unsupported(owner, name, path, $"'{path}' of a '{target.Type}' resource is not mapped");
    }

    private static NotSupportedException Unsupported(string owner, string name, string path, string why) =>
        new($"Resource '{owner}': cannot translate '{{{name}.{path}}}' to compose: {why}. " +
            "ComposeGen maps project endpoints and parameters only (see the Plain Docker section of README.md).");

    [GeneratedRegex("[^A-Za-z0-9_]")]
    private static partial Regex NotVariableCharacter();
}
