using System.Globalization;
using LoadBalancer.Measurement;
using ScottPlot;

namespace LoadBalancer.Benchmarks.Quality;

/// <summary>One grouped bar chart per property: a group per scheme, a bar per membership size.</summary>
internal static class Charts
{
    public static readonly string[] Names = ["balance", "disruption-add", "disruption-remove", "health-flip", "inflight"];

    private static readonly Color[] SizeColors = [Colors.SteelBlue, Colors.DarkOrange, Colors.SeaGreen];

    public static void Write(string folder, int[] sizes, List<(Scheme Scheme, Figures[] Figures)> results)
    {
        Bars(folder, "balance", "Peak-to-mean keys per member (lower is better; 1 is perfect)", sizes, results,
            (f, _) => f.PeakToMean, clip: 1.6, goal: 1.10, goalLabel: "goal for Ring 1.10");
        Bars(folder, "disruption-add", "Keys moved when a member joins, × the optimum 1/(N+1)", sizes, results,
            (f, n) => f.AddMoved * (n + 1), clip: 3, goal: 1.1, goalLabel: "goal 1.1×");
        Bars(folder, "disruption-remove", "Keys moved on removal that the removed member did not own (%)", sizes, results,
            (f, _) => f.RemoveCollateral * 100, clip: 10, goal: null, goalLabel: null);
        Bars(folder, "health-flip", "Keys moved by a health flip that the member did not own (%)", sizes, results,
            (f, _) => f.FlipCollateral * 100, clip: 10, goal: null, goalLabel: null);
        Bars(folder, "inflight", "Highest in-flight load ÷ mean, 10×N requests in flight", sizes, results,
            (f, _) => f.PeakInFlight, clip: 4, goal: 1.25, goalLabel: "c = 1.25");
    }

    private static void Bars(
        string folder,
        string name,
        string title,
        int[] sizes,
        List<(Scheme Scheme, Figures[] Figures)> results,
        Func<Figures, int, double> value,
        double clip,
        double? goal,
        string? goalLabel)
    {
        var plot = new Plot();
        var bars = new List<Bar>();
        var ticks = new List<Tick>();
        for (var s = 0; s < results.Count; s++)
        {
            var group = s * (sizes.Length + 1);
            for (var i = 0; i < sizes.Length; i++)
            {
                var v = value(results[s].Figures[i], sizes[i]);
                bars.Add(new Bar
                {
                    Position = group + i,
                    Value = Math.Min(v, clip),
                    FillColor = SizeColors[i],
                    Label = v > clip ? v.ToString("0.#", CultureInfo.InvariantCulture) : string.Empty,
                });
            }

            ticks.Add(new Tick(group + 1, results[s].Scheme.Label.Replace(" / ", "\n", StringComparison.Ordinal)));
        }

        var barPlot = plot.Add.Bars(bars);
        barPlot.ValueLabelStyle.FontSize = 9;
        plot.Axes.Bottom.TickGenerator = new ScottPlot.TickGenerators.NumericManual([.. ticks]);
        plot.Axes.Bottom.TickLabelStyle.Rotation = 60;
        plot.Axes.Bottom.TickLabelStyle.Alignment = Alignment.MiddleLeft;
        plot.Axes.Bottom.TickLabelStyle.FontSize = 10;
        plot.Axes.Bottom.MinimumSize = 140;
        plot.Title(title, size: 14);
        if (goal is { } g)
        {
            var line = plot.Add.HorizontalLine(g);
            line.LinePattern = LinePattern.Dashed;
            line.Color = Colors.Crimson;
            line.LegendText = goalLabel ?? string.Empty;
        }

        for (var i = 0; i < sizes.Length; i++)
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = $"N = {sizes[i]}", FillColor = SizeColors[i] });
        }

        plot.ShowLegend(Edge.Right);
        plot.Axes.Margins(bottom: 0);
        plot.Axes.SetLimitsY(0, clip * 1.08);
        plot.SavePng(Path.Combine(folder, $"hashing-{name}.png"), 1400, 600);
    }
}
