namespace LoadBalancer.Tests.Infrastructure;

/// <summary>
/// Load tests that bound a latency: they run one at a time and not beside the other tests, so the bound measures the
/// proxy rather than how busy the machine's two cores are.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class LoadCollection
{
    public const string Name = "Load";
}
