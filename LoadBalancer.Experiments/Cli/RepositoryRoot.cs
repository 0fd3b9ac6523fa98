namespace LoadBalancer.Experiments.Cli;

/// <summary>Finds the repository (the folder holding LoadBalancer.sln) so output lands in its docs/.</summary>
public static class RepositoryRoot
{
    /// <summary>The nearest folder at or above <paramref name="start"/> with LoadBalancer.sln; <paramref name="start"/> if none.</summary>
    public static string Find(string start)
    {
        for (var folder = new DirectoryInfo(start); folder is not null; folder = folder.Parent)
        {
            if (File.Exists(Path.Combine(folder.FullName, "LoadBalancer.sln")))
            {
                return folder.FullName;
            }
        }

        return start;
    }
}
