using BenchmarkDotNet.Attributes;
using LoadBalancer.Benchmarks.Quality;
using LoadBalancer.Measurement;
using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Proxy.Hashing;

namespace LoadBalancer.Benchmarks.Speed;

/// <summary>The cost of one lookup (<see cref="BalancingTable.Pick"/>) per algorithm and membership size, idle members.</summary>
[MemoryDiagnoser]
public class PickBenchmarks
{
    internal const int KeyCount = 1024;

    private BalancingTable _table = null!;
    private ulong[] _hashes = null!;

    [Params(HashRingAlgorithm.AlgorithmName, MaglevAlgorithm.AlgorithmName, BoundedLoadAlgorithm.AlgorithmName)]
    public string Algorithm { get; set; } = HashRingAlgorithm.AlgorithmName;

    [Params(3, 10, 100)]
    public int Servers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _table = BalancingAlgorithms.Create(new BalancingOptions { Algorithm = Algorithm }).Build(Scheme.Members(Servers), new XxHash3Function());
        _hashes = RandomHashes();
    }

    /// <summary>One lookup; the reported time is per key.</summary>
    [Benchmark(OperationsPerInvoke = KeyCount)]
    public int Pick()
    {
        var sum = 0;
        foreach (var hash in _hashes)
        {
            sum += _table.Pick(hash, []);
        }

        return sum;
    }

    internal static ulong[] RandomHashes()
    {
        var random = new Random(42);
        var hashes = new ulong[KeyCount];
        for (var i = 0; i < hashes.Length; i++)
        {
            hashes[i] = (ulong)random.NextInt64() ^ ((ulong)random.Next() << 63);
        }

        return hashes;
    }
}

/// <summary>The in-flight state a bounded-load lookup sees.</summary>
public enum ServerLoad
{
    /// <summary>Nothing in flight: the key's server is idle, so no total is read.</summary>
    Idle,

    /// <summary>Every server holds 10: the totals are read on every pick and the key's server has room.</summary>
    Busy,

    /// <summary>Every server busy, every other one full (30 against 5): half the picks probe for another server.</summary>
    HalfFull,
}

/// <summary>
/// Bounded-load lookup by probe and load: with every server busy (the totals are read on every pick) and with half of
/// them full (the probe runs), against idle.
/// </summary>
[MemoryDiagnoser]
public class BoundedLoadPickBenchmarks
{
    private BalancingTable _table = null!;
    private ulong[] _hashes = null!;

    [Params(BoundedLoadProbe.Clockwise, BoundedLoadProbe.RandomJump)]
    public BoundedLoadProbe Probe { get; set; }

    [Params(ServerLoad.Idle, ServerLoad.Busy, ServerLoad.HalfFull)]
    public ServerLoad Load { get; set; }

    [Params(10, 100)]
    public int Servers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var members = Scheme.Members(Servers);
        for (var m = 0; m < members.Length; m++)
        {
            var inFlight = Load switch
            {
                ServerLoad.Busy => Measure.InFlightPerMember,
                ServerLoad.HalfFull => m % 2 == 0 ? 30 : 5,
                _ => 0,
            };
            for (var i = 0; i < inFlight; i++)
            {
                members[m].BeginRequest();
            }
        }

        _table = new BoundedLoadAlgorithm(BalancingOptions.DefaultVirtualNodes, BoundedLoadTable.DefaultBalanceFactor, Probe).Build(members, new XxHash3Function());
        _hashes = PickBenchmarks.RandomHashes();
    }

    [Benchmark(OperationsPerInvoke = PickBenchmarks.KeyCount)]
    public int Pick()
    {
        var sum = 0;
        foreach (var hash in _hashes)
        {
            sum += _table.Pick(hash, []);
        }

        return sum;
    }
}

/// <summary>Rebuilding the table on a membership change.</summary>
[MemoryDiagnoser]
public class RebuildBenchmarks
{
    private BackendServer[] _members = null!;
    private IBalancingAlgorithm _algorithm = null!;
    private readonly IHashFunction _hash = new XxHash3Function();

    [Params(HashRingAlgorithm.AlgorithmName, MaglevAlgorithm.AlgorithmName, BoundedLoadAlgorithm.AlgorithmName)]
    public string Algorithm { get; set; } = HashRingAlgorithm.AlgorithmName;

    [Params(10, 100)]
    public int Servers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _members = Scheme.Members(Servers);
        _algorithm = BalancingAlgorithms.Create(new BalancingOptions { Algorithm = Algorithm });
    }

    [Benchmark]
    public BalancingTable Rebuild() => _algorithm.Build(_members, _hash);
}

/// <summary>Hashing a typical routing key (a 12-digit id, numeric so Assignment takes its own path) with each function.</summary>
[MemoryDiagnoser]
public class HashKeyBenchmarks
{
    private const string Key = "482915037264";
    private IHashFunction _hash = null!;

    [Params(XxHash3Function.FunctionName, Murmur3Function.FunctionName, Fnv1aFunction.FunctionName, AssignmentHashFunction.FunctionName)]
    public string Function { get; set; } = XxHash3Function.FunctionName;

    [GlobalSetup]
    public void Setup() => HashFunctions.TryGet(Function, out _hash);

    [Benchmark]
    public ulong HashKey() => _hash.HashKey(Key);
}
