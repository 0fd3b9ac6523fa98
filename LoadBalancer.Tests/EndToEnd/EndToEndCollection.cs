namespace LoadBalancer.Tests.EndToEnd;

/// <summary>
/// End-to-end classes each start a whole AppHost (DCP, servers, proxy). They run one at a time, and not beside the
/// other tests, so two cores are not shared by several distributed applications at once.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class EndToEndCollection
{
    public const string Name = "EndToEnd";
}
