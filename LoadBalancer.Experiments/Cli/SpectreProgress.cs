using LoadBalancer.Experiments.Runs;
using Spectre.Console;

namespace LoadBalancer.Experiments.Cli;

/// <summary>Shows each step as a Spectre.Console progress bar; notes are printed when the bars are done.</summary>
public sealed class SpectreProgress(ProgressContext context, List<string> notes) : IExperimentProgress
{
    /// <inheritdoc />
    public IProgressStep Start(string description, int total) =>
        new Step(context.AddTask(Markup.Escape(description), maxValue: Math.Max(1, total)));

    /// <inheritdoc />
    public void Note(string message)
    {
        lock (notes)
        {
            notes.Add(message);
        }
    }

    private sealed class Step(ProgressTask task) : IProgressStep
    {
        public void Advance(int units = 1) => task.Increment(units);

        public void Complete()
        {
            task.Value = task.MaxValue;
            task.StopTask();
        }
    }
}
