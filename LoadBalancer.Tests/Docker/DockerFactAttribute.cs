namespace LoadBalancer.Tests.Docker;

/// <summary>
/// A test that needs a Docker engine and <c>docker-compose</c> (CI starts one with scripts/docker-engine.sh). Skipped,
/// with the reason, where <c>docker info</c> gets no answer: the test never starts an engine itself.
/// </summary>
public sealed class DockerFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Missing = new(FindMissing);

    public DockerFactAttribute()
    {
        if (Missing.Value is { } reason)
        {
            Skip = reason;
        }
    }

    private static string? FindMissing()
    {
        try
        {
            if (DockerCli.Run("docker", ["info", "--format", "{{.ServerVersion}}"], TimeSpan.FromSeconds(15)).ExitCode != 0)
            {
                return "No Docker engine answers `docker info`: start one (sudo scripts/docker-engine.sh start) and prepare the base images (scripts/docker-base-images.sh) to run the Docker tests.";
            }

            return DockerCli.Run("docker-compose", ["version", "--short"], TimeSpan.FromSeconds(15)).ExitCode == 0
                ? null
                : "docker-compose does not run: install Debian's docker-compose (apt-get install -y docker-compose) to run the Docker tests.";
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            return $"The docker CLI is not installed ({ex.Message}): install docker.io and docker-compose to run the Docker tests.";
        }
    }
}
