namespace LoadBalancer.Experiments.Runs;

/// <summary>Where runs report progress: Spectre.Console bars on the command line, nothing in tests.</summary>
public interface IExperimentProgress
{
    /// <summary>Starts a step of <paramref name="total"/> units (requests, usually).</summary>
    IProgressStep Start(string description, int total);

    /// <summary>Tells the user something (a skipped run, a failure) without stopping.</summary>
    void Note(string message);
}

/// <summary>One step of a run.</summary>
public interface IProgressStep
{
    /// <summary>Advances by <paramref name="units"/>; thread-safe.</summary>
    void Advance(int units = 1);

    /// <summary>Marks the step done.</summary>
    void Complete();
}

/// <summary>Reports nothing; notes are kept for inspection.</summary>
public sealed class SilentProgress : IExperimentProgress
{
    private readonly List<string> _notes = [];

    /// <summary>The notes received, in order.</summary>
    public IReadOnlyList<string> Notes
    {
        get
        {
            lock (_notes)
            {
                return [.. _notes];
            }
        }
    }

    /// <inheritdoc />
    public IProgressStep Start(string description, int total) => new Step();

    /// <inheritdoc />
    public void Note(string message)
    {
        lock (_notes)
        {
            _notes.Add(message);
        }
    }

    private sealed class Step : IProgressStep
    {
        public void Advance(int units = 1)
        {
        }

        public void Complete()
        {
        }
    }
}
