using BenchmarkDotNet.Running;
using LoadBalancer.Benchmarks.Quality;

// `quality` measures balance and disruption and writes docs/hashing.md and its charts; anything else goes to
// BenchmarkDotNet, which finds every benchmark class in this assembly (e.g. `--filter *Pick*`, `--job short`).
if (args is ["quality", .. var rest])
{
    return QualityReport.Run(rest);
}

// `bounded-load` simulates Zipf-skewed keys over bounded-load tables, clockwise against random-jump probing.
if (args is ["bounded-load", .. var more])
{
    return BoundedLoadSimulation.Run(more);
}

BenchmarkSwitcher.FromAssembly(typeof(QualityReport).Assembly).Run(args);
return 0;
