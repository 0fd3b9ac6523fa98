using LoadBalancer.Experiments.Statistics;
using LoadBalancer.Measurement;
using ScottPlot;

namespace LoadBalancer.Experiments.Charts;

/// <summary>Draws the experiments' PNG charts with ScottPlot.</summary>
public static class ChartWriter
{
    private const int Width = 900;
    private const int Height = 520;

    private static readonly IPalette Colors = new ScottPlot.Palettes.Category10();

    /// <summary>A-1: requests per server as bars, with the mean as a dashed line.</summary>
    public static void RequestsPerServer(string path, string title, Distribution distribution)
    {
        var plot = new Plot();
        var bars = distribution.Counts.Select((c, i) => new Bar
        {
            Position = i,
            Value = c.Value,
            FillColor = Colors.GetColor(i),
            Label = c.Value.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }).ToArray();
        var barPlot = plot.Add.Bars(bars);
        barPlot.ValueLabelStyle.FontSize = 14;
        var mean = plot.Add.HorizontalLine(distribution.Mean);
        mean.LinePattern = LinePattern.Dashed;
        mean.Color = Colors.GetColor(7);
        mean.LegendText = $"mean {distribution.Mean:0}";
        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, bars.Length).Select(i => (double)i).ToArray(), distribution.Counts.Select(c => c.Key).ToArray());
        plot.Axes.Margins(bottom: 0, top: 0.15);
        plot.Title(title);
        plot.YLabel("requests answered");
        plot.ShowLegend(Alignment.UpperRight);
        Save(plot, path);
    }

    /// <summary>A-2: mean load per server against N, with the least and most loaded server as error bars.</summary>
    public static void LoadByServerCount(string path, string title, IReadOnlyList<(int Servers, Distribution Distribution)> points)
    {
        var plot = new Plot();
        var xs = points.Select(p => (double)p.Servers).ToArray();
        var means = points.Select(p => p.Distribution.Mean).ToArray();
        var line = plot.Add.Scatter(xs, means);
        line.LegendText = "mean per server";
        line.Color = Colors.GetColor(0);
        line.MarkerSize = 8;
        var errors = plot.Add.ErrorBar(xs, means, points.Select(p => p.Distribution.Max - p.Distribution.Mean).ToArray());
        errors.YErrorNegative = points.Select(p => p.Distribution.Mean - p.Distribution.Min).ToArray();
        errors.Color = Colors.GetColor(0);
        errors.LineWidth = 2;
        AddMarkers(plot, xs, points.Select(p => (double)p.Distribution.Min).ToArray(), "least loaded", MarkerShape.FilledTriangleDown, Colors.GetColor(3));
        AddMarkers(plot, xs, points.Select(p => (double)p.Distribution.Max).ToArray(), "most loaded", MarkerShape.FilledTriangleUp, Colors.GetColor(1));
        plot.Axes.Bottom.SetTicks(xs, points.Select(p => $"N={p.Servers}").ToArray());
        plot.Axes.SetLimitsY(0, points.Max(p => p.Distribution.Max) * 1.1);
        plot.Title(title);
        plot.YLabel("requests per server");
        plot.ShowLegend(Alignment.UpperRight);
        Save(plot, path);
    }

    /// <summary>A-3: answers per second per server and failures per second, with the stop and start marked.</summary>
    public static void OutageTimeline(string path, string title, OutageTimeline timeline)
    {
        var plot = new Plot();
        var index = 0;
        foreach (var server in timeline.Servers)
        {
            var counts = timeline.PerServer[server];
            var line = plot.Add.Scatter(Enumerable.Range(0, counts.Length).Select(s => (double)s).ToArray(), counts.Select(c => (double)c).ToArray());
            line.LegendText = server;
            line.Color = Colors.GetColor(index++);
            line.MarkerSize = 3;
        }

        var failures = plot.Add.Scatter(
            Enumerable.Range(0, timeline.FailuresPerSecond.Length).Select(s => (double)s).ToArray(),
            timeline.FailuresPerSecond.Select(c => (double)c).ToArray());
        failures.LegendText = $"failed ({timeline.Failed})";
        failures.Color = ScottPlot.Colors.Red;
        failures.LineWidth = 2;
        failures.LinePattern = LinePattern.Dotted;
        failures.MarkerSize = 3;

        var stop = plot.Add.VerticalLine(timeline.StopIssued);
        stop.LabelText = $"stop {timeline.StoppedServer}";
        stop.LinePattern = LinePattern.Dashed;
        stop.Color = ScottPlot.Colors.DarkRed;
        var start = plot.Add.VerticalLine(timeline.StartIssued);
        start.LabelText = $"start {timeline.StoppedServer}";
        start.LinePattern = LinePattern.Dashed;
        start.Color = ScottPlot.Colors.DarkGreen;

        plot.Axes.Margins(bottom: 0);
        plot.Title(title);
        plot.XLabel("seconds into the run");
        plot.YLabel("requests per second");
        plot.ShowLegend(Alignment.UpperRight);
        Save(plot, path);
    }

    /// <summary>A-4: requests per server for several variants at one N, as grouped bars.</summary>
    public static void GroupedRequestsPerServer(string path, string title, IReadOnlyList<(string Label, Distribution Distribution)> groups)
    {
        var plot = new Plot();
        var servers = groups.SelectMany(g => g.Distribution.Counts.Select(c => c.Key)).Distinct().Order(ServerNameComparer.Instance).ToArray();
        var width = 0.8 / Math.Max(1, servers.Length);
        var bars = new List<Bar>();
        for (var g = 0; g < groups.Count; g++)
        {
            var counts = groups[g].Distribution.Counts.ToDictionary(c => c.Key, c => c.Value);
            for (var s = 0; s < servers.Length; s++)
            {
                bars.Add(new Bar
                {
                    Position = g + (s - (servers.Length - 1) / 2.0) * width,
                    Value = counts.GetValueOrDefault(servers[s]),
                    Size = width * 0.95,
                    FillColor = Colors.GetColor(s),
                });
            }
        }

        plot.Add.Bars(bars);
        for (var s = 0; s < servers.Length; s++)
        {
            plot.Legend.ManualItems.Add(new LegendItem { LabelText = servers[s], FillColor = Colors.GetColor(s) });
        }

        plot.Axes.Bottom.SetTicks(Enumerable.Range(0, groups.Count).Select(i => (double)i).ToArray(), groups.Select(g => g.Label).ToArray());
        plot.Axes.Margins(bottom: 0, top: 0.1);
        plot.Title(title);
        plot.YLabel("requests answered");
        plot.ShowLegend(Alignment.UpperRight);
        Save(plot, path, width: 1100);
    }

    private static void AddMarkers(Plot plot, double[] xs, double[] ys, string label, MarkerShape shape, Color color)
    {
        var markers = plot.Add.Scatter(xs, ys);
        markers.LegendText = label;
        markers.LineWidth = 0;
        markers.MarkerShape = shape;
        markers.MarkerSize = 9;
        markers.Color = color;
    }

    private static void Save(Plot plot, string path, int width = Width)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
        plot.SavePng(path, width, Height);
    }
}
