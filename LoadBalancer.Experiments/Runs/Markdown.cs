using System.Globalization;
using System.Text;

namespace LoadBalancer.Experiments.Runs;

/// <summary>Small helpers for the Markdown the experiments write (invariant culture throughout).</summary>
internal static class Markdown
{
    public static string Table(IReadOnlyList<string> header, IEnumerable<IReadOnlyList<string>> rows)
    {
        var text = new StringBuilder();
        text.Append("| ").AppendJoin(" | ", header).AppendLine(" |");
        text.Append('|').AppendJoin('|', header.Select(_ => "---")).AppendLine("|");
        foreach (var row in rows)
        {
            text.Append("| ").AppendJoin(" | ", row).AppendLine(" |");
        }

        return text.ToString();
    }

    public static string F(double value, string format = "0.00") => value.ToString(format, CultureInfo.InvariantCulture);

    public static string N(long value) => value.ToString("N0", CultureInfo.InvariantCulture);

    public static string Percent(double share, string format = "0.0") => (share * 100).ToString(format, CultureInfo.InvariantCulture) + " %";

    public static string Image(string alt, string chartPath) => $"![{alt}](images/{Path.GetFileName(chartPath)})";
}
