using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Tests.Infrastructure;

/// <summary>A logger provider that keeps every formatted message, for tests that assert what was logged.</summary>
public sealed class LogCollector : ILoggerProvider, ILogger
{
    public ConcurrentQueue<string> Messages { get; } = new();

    public ILogger CreateLogger(string categoryName) => this;

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Messages.Enqueue(formatter(state, exception));

    public void Dispose()
    {
    }
}
