using System.Reflection;

namespace LoadBalancer.Tests.Infrastructure;

/// <summary>No test class without its cost: each class with tests carries one <see cref="TestCategories"/> trait.</summary>
[Trait(TestCategories.Name, TestCategories.Unit)]
public sealed class TestCategoryTests
{
    [Fact]
    public void Every_test_class_has_exactly_one_known_category()
    {
        var classes = typeof(TestCategoryTests).Assembly.GetTypes()
            .Where(type => type.GetMethods(BindingFlags.Instance | BindingFlags.Static | BindingFlags.Public | BindingFlags.NonPublic)
                .Any(method => method.GetCustomAttributes<FactAttribute>(inherit: true).Any()))
            .ToArray();

        var wrong = classes
            .Select(type => (type, categories: type.GetCustomAttributesData()
                .Where(a => a.AttributeType == typeof(TraitAttribute) && (string?)a.ConstructorArguments[0].Value == TestCategories.Name)
                .Select(a => (string?)a.ConstructorArguments[1].Value)
                .ToArray()))
            .Where(c => c.categories.Length != 1 || !TestCategories.All.Contains(c.categories[0]))
            .Select(c => $"{c.type.FullName}: {(c.categories.Length == 0 ? "no Category trait" : string.Join(", ", c.categories))}")
            .ToArray();

        Assert.True(classes.Length > 40, $"only {classes.Length} test classes found");
        Assert.Empty(wrong);
    }
}
