using BenchmarkDotNet.Attributes;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Forwarding;
using LoadBalancer.Proxy.Hashing;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Options;
using LoadBalancer.Proxy.Routing;

namespace LoadBalancer.Benchmarks;

/// <summary>
/// The proxy's per-request routing path: read <c>?id=</c> from the request, hash it, pick the member. It runs on
/// every request, so it must not allocate (see the Allocated column).
/// </summary>
[MemoryDiagnoser]
public class RoutingPathBenchmarks
{
    private const int Contexts = 1024;

    private readonly DefaultHttpContext[] _contexts = new DefaultHttpContext[Contexts];
    private readonly ulong[] _hashes = new ulong[Contexts];
    private RoutingKeyHasher _hasher = null!;
    private IHashFunction _hash = null!;
    private BalancingTable _table = null!;
    private int _next;

    /// <summary>Every algorithm this build knows (Ring today; Maglev and BoundedLoad as they land).</summary>
    public static IEnumerable<string> Algorithms => BalancingAlgorithms.Names;

    [ParamsSource(nameof(Algorithms))]
    public string Algorithm { get; set; } = "Ring";

    [Params(3, 10)]
    public int Servers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var options = new BalancingOptions { Algorithm = Algorithm, HashFunction = XxHash3Function.FunctionName };
        _hash = BalancingAlgorithms.CreateHash(options);
        _table = BalancingAlgorithms.Create(options).Build(
            Enumerable.Range(1, Servers).Select(i => new BackendServer($"server{i}", new Uri($"http://127.0.0.1:{5000 + i}"))), _hash);
        _hasher = new RoutingKeyHasher(Options.Create(new RoutingOptions()));

        var random = new Random(42);
        for (var i = 0; i < Contexts; i++)
        {
            var context = new DefaultHttpContext();
            context.Request.Path = "/home";
            context.Request.QueryString = new QueryString($"?id={random.Next(100_000, 1_000_000)}");
            _contexts[i] = context;
            _hashes[i] = _hasher.Hash(context, _hash);
        }
    }

    /// <summary>Key extraction + hash + lookup: what the proxy does before forwarding.</summary>
    [Benchmark(Baseline = true)]
    public int HashAndPick()
    {
        var context = _contexts[_next++ & (Contexts - 1)];
        return _table.Pick(_hasher.Hash(context, _hash), []);
    }

    /// <summary>Key extraction + hash only.</summary>
    [Benchmark]
    public ulong HashOnly() => _hasher.Hash(_contexts[_next++ & (Contexts - 1)], _hash);

    /// <summary>Table lookup only, on precomputed hashes.</summary>
    [Benchmark]
    public int PickOnly() => _table.Pick(_hashes[_next++ & (Contexts - 1)], []);
}
