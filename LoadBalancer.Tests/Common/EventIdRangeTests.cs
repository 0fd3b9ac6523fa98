using System.Reflection;
using LoadBalancer.Proxy;
using LoadBalancer.Proxy.Common;
using Microsoft.Extensions.Logging;
using LoadBalancer.Tests.Infrastructure;

namespace LoadBalancer.Tests.Common;

/// <summary>Every log event of the proxy has an id in its area's range (<see cref="EventIds"/>), and no id is used twice.</summary>
[Trait(TestCategories.Name, TestCategories.Unit)]
public sealed class EventIdRangeTests
{
    [Fact]
    public void Every_logger_message_takes_its_id_from_its_areas_range_and_no_id_is_used_twice()
    {
        var events = typeof(ProxyApplication).Assembly.GetTypes()
            .SelectMany(type => type.GetMethods(BindingFlags.Static | BindingFlags.Instance | BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.DeclaredOnly))
            .Select(method => (Method: method, Attribute: method.GetCustomAttribute<LoggerMessageAttribute>()))
            .Where(e => e.Attribute is not null)
            .Select(e => (Name: $"{e.Method.DeclaringType!.FullName}.{e.Method.Name}", Area: e.Method.DeclaringType!.Namespace!.Split('.').Last(), Id: e.Attribute!.EventId))
            .ToArray();

        Assert.True(events.Length > 20, $"only {events.Length} [LoggerMessage] methods found");
        var misplaced = events
            .Where(e => !EventIds.ByArea.TryGetValue(e.Area, out var first) || e.Id < first || e.Id >= first + EventIds.RangeSize)
            .Select(e => $"{e.Name}: event {e.Id} is outside the {e.Area} range")
            .ToArray();
        Assert.Empty(misplaced);
        var twice = events.GroupBy(e => e.Id).Where(g => g.Count() > 1).Select(g => $"event {g.Key}: {string.Join(", ", g.Select(e => e.Name))}").ToArray();
        Assert.Empty(twice);
    }
}
