namespace LoadBalancer.Proxy.Common;

/// <summary>Unseeded generators for production.</summary>
internal sealed class RandomFactory : IRandomFactory
{
    public Random Create() => new();
}
