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

/// <summary>
/// Bounded-load lookup when every member is busy (10 requests in flight each), so the in-flight totals are summed
/// on every pick: its worst case.
/// </summary>
[MemoryDiagnoser]
public class BoundedLoadBusyPickBenchmarks
{
    private BalancingTable _table = null!;
    private ulong[] _hashes = null!;

    [Params(3, 10, 100)]
    public int Servers { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        var members = Scheme.Members(Servers);
        foreach (var member in members)
        {
            for (var i = 0; i < Measure.InFlightPerMember; i++)
            {
                member.BeginRequest();
            }
        }

        _table = BalancingAlgorithms.Create(new BalancingOptions { Algorithm = BoundedLoadAlgorithm.AlgorithmName }).Build(members, new XxHash3Function());
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
