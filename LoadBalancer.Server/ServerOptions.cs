using System.ComponentModel.DataAnnotations;

namespace LoadBalancer.Server;

/// <summary>Identity of one backend server.</summary>
public sealed class ServerOptions
{
    /// <summary>The id shown in <c>/home</c>'s message; the AppHost sets <c>SERVER_ID</c> to 1..N.</summary>
    [Required(AllowEmptyStrings = false)]
    [RegularExpression(@"^[A-Za-z0-9._-]{1,64}$", ErrorMessage = "SERVER_ID must be 1-64 letters, digits, '.', '_' or '-'.")]
    public string Id { get; set; } = "1";
}
