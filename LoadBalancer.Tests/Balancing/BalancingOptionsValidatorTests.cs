using LoadBalancer.Proxy.Balancing;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Balancing;

[Trait(TestCategories.Name, TestCategories.Unit)]
public sealed class BalancingOptionsValidatorTests
{
    private static IEnumerable<string> Failures(BalancingOptions options) =>
        new BalancingOptionsValidator().Validate(null, options).Failures ?? [];

    [Fact]
    public void Defaults_are_valid_and_every_algorithm_name_builds()
    {
        Assert.Empty(Failures(new BalancingOptions()));
        foreach (var name in BalancingAlgorithms.Names)
        {
            var options = new BalancingOptions { Algorithm = name.ToLowerInvariant() };
            Assert.Empty(Failures(options));
            Assert.Equal(name, BalancingAlgorithms.Create(options).Name);
        }
    }

    [Theory]
    [InlineData(65536, "Balancing:MaglevTableSize is 65536; it must be a prime")]
    [InlineData(5, "Balancing:MaglevTableSize is 5; it must be a prime from 7")]
    [InlineData(20_000_003, "Balancing:MaglevTableSize is 20000003")]
    public void A_maglev_table_size_that_is_not_a_prime_in_range_is_refused(int size, string expected)
    {
        Assert.Contains(Failures(new BalancingOptions { MaglevTableSize = size }), f => f.StartsWith(expected, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(1.0)]
    [InlineData(0.8)]
    [InlineData(101.0)]
    [InlineData(double.NaN)]
    public void A_balance_factor_not_above_one_is_refused(double factor)
    {
        Assert.Contains(Failures(new BalancingOptions { BalanceFactor = factor }), f => f.Contains("Balancing:BalanceFactor", StringComparison.Ordinal) && f.Contains("greater than 1", StringComparison.Ordinal));
    }
}
