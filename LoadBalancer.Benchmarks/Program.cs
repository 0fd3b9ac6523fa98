using BenchmarkDotNet.Running;
using LoadBalancer.Benchmarks;

// Pick benchmarks with BenchmarkDotNet's own arguments, e.g. --filter "*RoutingPath*".
// (typeof(Program) would be ambiguous: the proxy's Program is visible here through InternalsVisibleTo.)
BenchmarkSwitcher.FromAssembly(typeof(RoutingPathBenchmarks).Assembly).Run(args);
