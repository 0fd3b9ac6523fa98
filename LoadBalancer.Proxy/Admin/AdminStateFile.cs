using System.Text.Json;
using Microsoft.Extensions.Options;

namespace LoadBalancer.Proxy.Admin;

/// <summary>
/// Keeps the admin API's membership changes (servers added by address, servers removed) in
/// <see cref="AdminOptions.StateFile"/>, so a restarted proxy starts where the last one left off (much as HAProxy's
/// server-state file carries server state across reloads). Each change is written to a temporary file and moved
/// over the old one before it is applied: the file never holds half a change, and a change that cannot be saved is
/// refused rather than lost at the next restart.
/// </summary>
public sealed partial class AdminStateFile : Membership.IMembershipStore
{
    private const int FormatVersion = 1;
    private readonly string? _path;
    private readonly ILogger<AdminStateFile> _logger;

    /// <summary>Creates the store for <c>Admin:StateFile</c>.</summary>
    public AdminStateFile(IOptions<AdminOptions> options, ILogger<AdminStateFile> logger)
    {
        _path = string.IsNullOrEmpty(options.Value.StateFile) ? null : Path.GetFullPath(options.Value.StateFile);
        _logger = logger;
    }

    /// <summary>The file's full path, or null when changes are kept in memory only (no <c>Admin:StateFile</c>).</summary>
    public string? FullPath => _path;

    /// <summary>
    /// The saved changes, or none when the file does not exist yet. A file that cannot be read or makes no sense is
    /// logged as an error and ignored: the proxy starts from discovery alone rather than not at all.
    /// </summary>
    public AdminChanges Load()
    {
        try
        {
            if (_path is null || !File.Exists(_path))
            {
                return AdminChanges.None;
            }

            var document = JsonSerializer.Deserialize(File.ReadAllBytes(_path), AdminStateJsonContext.Default.AdminStateDocument)
                ?? throw new JsonException("the file holds null");
            var changes = Validate(document);
            LogRestored(_logger, _path, changes.Added.Count, changes.Removed.Count);
            return changes;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException)
        {
            LogUnreadable(_logger, _path!, ex.Message);
            return AdminChanges.None;
        }
    }

    /// <summary>Writes <paramref name="changes"/>; false (with the reason in <paramref name="error"/>) when it could not.</summary>
    public bool TrySave(AdminChanges changes, out string? error)
    {
        error = null;
        if (_path is null)
        {
            return true;
        }

        var document = new AdminStateDocument
        {
            Version = FormatVersion,
            Added = changes.Added.OrderBy(entry => entry.Key, StringComparer.Ordinal).ToDictionary(entry => entry.Key, entry => entry.Value.ToString(), StringComparer.Ordinal),
            Removed = changes.Removed.Order(StringComparer.Ordinal).ToList(),
        };
        var temporary = _path + ".tmp";
        try
        {
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write, FileShare.None))
            {
                JsonSerializer.Serialize(stream, document, AdminStateJsonContext.Default.AdminStateDocument);
                stream.Flush(flushToDisk: true);
            }

            File.Move(temporary, _path, overwrite: true);
            return true;
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            LogSaveFailed(_logger, _path, ex.Message);
            // The reason is in the log (event 512): an error body carries no exception text.
            error = "<Error> The change could not be saved to the admin state file (see the proxy's log, event 512); nothing was changed";
            return false;
        }
    }

    private static AdminChanges Validate(AdminStateDocument document)
    {
        if (document.Version != FormatVersion)
        {
            throw new JsonException($"format version {document.Version} is not {FormatVersion}");
        }

        var added = new Dictionary<string, Uri>(StringComparer.Ordinal);
        foreach (var (name, address) in document.Added ?? [])
        {
            if (string.IsNullOrWhiteSpace(name)
                || !Uri.TryCreate(address, UriKind.Absolute, out var uri)
                || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
            {
                throw new JsonException($"added server '{name}' has no absolute http(s) address ('{address}')");
            }

            added[name] = uri;
        }

        var removed = new HashSet<string>(StringComparer.Ordinal);
        foreach (var name in document.Removed ?? [])
        {
            if (string.IsNullOrWhiteSpace(name))
            {
                throw new JsonException("a removed server has an empty name");
            }

            removed.Add(name);
        }

        return new AdminChanges(added, removed);
    }

    [LoggerMessage(EventId = 510, Level = LogLevel.Information, Message = "Admin changes restored from {Path}: {Added} server(s) added by address, {Removed} removed")]
    private static partial void LogRestored(ILogger logger, string path, int added, int removed);

    [LoggerMessage(EventId = 511, Level = LogLevel.Error, Message = "The admin state file {Path} could not be read and is ignored (the proxy starts from service discovery alone; the next admin change replaces it): {Reason}")]
    private static partial void LogUnreadable(ILogger logger, string path, string reason);

    [LoggerMessage(EventId = 512, Level = LogLevel.Error, Message = "An admin change could not be saved to {Path} and was refused: {Reason}")]
    private static partial void LogSaveFailed(ILogger logger, string path, string reason);
}
