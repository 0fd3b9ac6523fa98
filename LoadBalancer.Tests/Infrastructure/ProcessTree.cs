using System.Diagnostics;

namespace LoadBalancer.Tests.Infrastructure;

/// <summary>Finds and kills the descendants of a process (Linux /proc), e.g. the server under a <c>dotnet run</c> wrapper.</summary>
public static class ProcessTree
{
    /// <summary>Kills every descendant of <paramref name="pid"/>, deepest first, and returns their ids; the process itself lives.</summary>
    public static IReadOnlyList<int> KillDescendants(int pid)
    {
        var descendants = new List<int>();
        Collect(pid, descendants);
        descendants.Reverse();
        foreach (var child in descendants)
        {
            try
            {
                using var process = Process.GetProcessById(child);
                process.Kill();
            }
            catch (ArgumentException)
            {
                // Already gone.
            }
        }

        return descendants;
    }

    private static void Collect(int pid, List<int> into)
    {
        var tasks = $"/proc/{pid}/task";
        if (!Directory.Exists(tasks))
        {
            return;
        }

        foreach (var task in Directory.EnumerateDirectories(tasks))
        {
            var childrenFile = Path.Combine(task, "children");
            if (!File.Exists(childrenFile))
            {
                continue;
            }

            foreach (var token in File.ReadAllText(childrenFile).Split(' ', StringSplitOptions.RemoveEmptyEntries))
            {
                var child = int.Parse(token, System.Globalization.CultureInfo.InvariantCulture);
                into.Add(child);
                Collect(child, into);
            }
        }
    }
}
