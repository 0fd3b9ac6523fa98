namespace LoadBalancer.Tests.Infrastructure;

/// <summary>
/// Tests that assert what a proxy's trace sampler decided. Sampling is process-wide: an activity is recorded when any
/// listener in the process samples it, and every proxy host of another test has its own tracer (ParentBased, always
/// on), which would sample this test's activities too. So these run alone, not beside the other tests.
/// </summary>
[CollectionDefinition(Name, DisableParallelization = true)]
public sealed class SamplingCollection
{
    public const string Name = "Sampling";
}
