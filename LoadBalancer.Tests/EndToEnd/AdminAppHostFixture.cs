using Aspire.Hosting.ApplicationModel;
using Aspire.Hosting.Testing;

namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// Its own AppHost for the admin end-to-end tests (they remove servers, so they share it with no one), plus the admin
/// key the AppHost generated for its <c>admin-key</c> parameter.
/// </summary>
public class AdminAppHostFixture : AppHostFixture
{
    /// <summary>The generated admin key the proxy was given.</summary>
    public string AdminKey { get; private set; } = "";

    protected override async Task OnBuildingAsync(IDistributedApplicationTestingBuilder builder, CancellationToken cancellationToken)
    {
        var keyParameter = builder.Resources.OfType<ParameterResource>().Single(p => p.Name == "admin-key");
        Assert.True(keyParameter.Secret);
        AdminKey = await keyParameter.GetValueAsync(cancellationToken) ?? throw new InvalidOperationException("admin-key has no value.");
    }
}
