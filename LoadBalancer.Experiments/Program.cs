using LoadBalancer.Experiments.Cli;
using LoadBalancer.Experiments.Runs;
using LoadBalancer.Experiments.Systems;
using Spectre.Console;

CommandLine command;
try
{
    command = CommandLine.Parse(args);
}
catch (FormatException ex)
{
    Console.Error.WriteLine(ex.Message);
    Console.Error.WriteLine(CommandLine.Usage);
    return 2;
}

var docs = command.DocsDirectory ?? Path.Combine(RepositoryRoot.Find(Environment.CurrentDirectory), "docs");
var settings = new ExperimentSettings
{
    Requests = command.Requests,
    Concurrency = command.Concurrency,
    OutageRunLength = TimeSpan.FromSeconds(command.OutageSeconds),
    OutageRate = command.OutageRate,
    DocsDirectory = Path.GetFullPath(docs),
};
ISystemLauncher launcher = command.Url is { } url ? new UrlSystemLauncher(url) : new AspireSystemLauncher(AspireSystemLauncher.DefaultStartTimeout);

using var cancel = new CancellationTokenSource();
Console.CancelKeyPress += (_, e) =>
{
    e.Cancel = true;
    cancel.Cancel();
};

var notes = new List<string>();
ExperimentSuite.Outcome outcome = null!;
await AnsiConsole.Progress()
    .AutoClear(false)
    .Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new ElapsedTimeColumn(), new SpinnerColumn())
    .StartAsync(async progress =>
    {
        var context = new ExperimentContext(settings, launcher, new SpectreProgress(progress, notes));
        outcome = await ExperimentSuite.RunAsync(context, command.Experiments, TimeProvider.System, cancel.Token);
    });

foreach (var note in notes)
{
    AnsiConsole.MarkupLineInterpolated($"[yellow]note:[/] {note}");
}

foreach (var report in outcome.Reports)
{
    AnsiConsole.MarkupLineInterpolated($"[green]{report.Key}[/] written: {string.Join(", ", report.Charts.Select(Path.GetFileName))}");
}

if (outcome.Reports.Count > 0)
{
    AnsiConsole.MarkupLineInterpolated($"Results: {Path.Combine(settings.DocsDirectory, "RESULTS.md")}");
}

foreach (var failure in outcome.Failures)
{
    AnsiConsole.MarkupLineInterpolated($"[red]failed:[/] {failure}");
}

return outcome.Failures.Count == 0 ? 0 : 1;
