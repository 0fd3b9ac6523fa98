using System.Text.Json.Serialization;

namespace LoadBalancer.Proxy.Admin;

/// <summary>Source-generated JSON for <see cref="AdminStateDocument"/>, indented so an operator can read the file.</summary>
[JsonSourceGenerationOptions(WriteIndented = true)]
[JsonSerializable(typeof(AdminStateDocument))]
internal sealed partial class AdminStateJsonContext : JsonSerializerContext;
