using System.Collections.Concurrent;
using Microsoft.Extensions.Logging;

namespace LoadBalancer.Tests.Infrastructure;

/// <summary>A logger provider that keeps every formatted message, for tests that assert what was logged.</summary>
public sealed class LogCollector : ILoggerProvider, ILogger
{
    public ConcurrentQueue<string> Messages { get; } = new();

    /// <summary>Every entry with its category, level, event id and exception, for tests about how something is logged.</summary>
    public ConcurrentQueue<LogEntry> Entries { get; } = new();

    public ILogger CreateLogger(string categoryName) => new CategoryLogger(this, categoryName);

    public IDisposable? BeginScope<TState>(TState state)
        where TState : notnull => null;

    public bool IsEnabled(LogLevel logLevel) => true;

    public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
        Add(string.Empty, logLevel, eventId, formatter(state, exception), exception);

    public void Dispose()
    {
    }

    private void Add(string category, LogLevel level, EventId eventId, string message, Exception? exception)
    {
        Messages.Enqueue(message);
        Entries.Enqueue(new LogEntry(category, level, eventId.Id, message, exception));
    }

    private sealed class CategoryLogger(LogCollector owner, string category) : ILogger
    {
        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
            owner.Add(category, logLevel, eventId, formatter(state, exception), exception);
    }
}

/// <summary>One log entry as <see cref="LogCollector"/> kept it.</summary>
public sealed record LogEntry(string Category, LogLevel Level, int EventId, string Message, Exception? Exception);
