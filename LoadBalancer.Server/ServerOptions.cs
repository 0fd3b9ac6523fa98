using System.ComponentModel.DataAnnotations;

namespace LoadBalancer.Server;

/// <summary>Identity of one backend server.</summary>
public sealed class ServerOptions
{
    /// <summary>The configuration section (<c>SERVER_ID</c> wins over <c>Server:Id</c>).</summary>
    public const string SectionName = "Server";

    /// <summary>The id shown in <c>/home</c>'s message; the AppHost sets <c>SERVER_ID</c> to 1..N.</summary>
    [Required(AllowEmptyStrings = false)]
    [RegularExpression(@"^[A-Za-z0-9._-]{1,64}$", ErrorMessage = "SERVER_ID must be 1-64 letters, digits, '.', '_' or '-'.")]
    public string Id { get; set; } = "1";

    /// <summary>
    /// The port, among those the server listens on (<c>ASPNETCORE_URLS</c>, <c>HTTP_PORTS</c>), that speaks HTTP/2 only
    /// with prior knowledge (h2c), for a proxy that multiplexes its requests; none by default. Kestrel cannot offer
    /// HTTP/1.1 and h2c on one cleartext port, so this is a port of its own. The AppHost sets it
    /// (<c>Server__H2cPort</c>) to the server's <c>h2c</c> endpoint.
    /// </summary>
    [Range(1, 65535)]
    public int? H2cPort { get; set; }
}
