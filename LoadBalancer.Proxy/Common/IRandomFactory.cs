namespace LoadBalancer.Proxy.Common;

/// <summary>Creates the <see cref="Random"/> used for random choices, so tests can inject a seeded one.</summary>
public interface IRandomFactory
{
    /// <summary>A generator for one operation; callers do not share it across threads.</summary>
    Random Create();
}
