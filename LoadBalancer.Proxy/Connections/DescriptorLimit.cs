using System.Runtime.InteropServices;

namespace LoadBalancer.Proxy.Connections;

/// <summary>The process's descriptor limit (<c>RLIMIT_NOFILE</c>), read and raised through libc on Linux.</summary>
internal static class DescriptorLimit
{
    // RLIMIT_NOFILE on every Linux architecture .NET runs on (x64, arm64, arm); other systems number it differently.
    private const int ResourceNoFile = 7;

    /// <summary>
    /// Lifts the soft limit to the hard one, as servers do (nginx's <c>worker_rlimit_nofile</c>, HAProxy), and reads
    /// it. CoreCLR already raises it when the process starts on Linux (its PAL's <c>INIT_IncreaseDescriptorLimit</c>),
    /// so this usually finds nothing to do; it is repeated for hosts that do not. Null where the limit cannot be read
    /// (not Linux).
    /// </summary>
    public static DescriptorLimitReading? Read()
    {
        if (!OperatingSystem.IsLinux() || GetLimit(ResourceNoFile, out var limit) != 0)
        {
            return null;
        }

        var before = limit.Current;
        var error = 0;
        if (limit.Current < limit.Maximum)
        {
            var raised = new Limit(limit.Maximum, limit.Maximum);
            if (SetLimit(ResourceNoFile, ref raised) == 0)
            {
                limit = raised;
            }
            else
            {
                error = Marshal.GetLastPInvokeError();
            }
        }

        return new DescriptorLimitReading(Clamp(limit.Current), Clamp(limit.Maximum), Clamp(before), error);
    }

    // RLIM_INFINITY is all ones; nothing near long.MaxValue is a real descriptor count.
    private static long Clamp(nuint value) => value > long.MaxValue ? long.MaxValue : (long)value;

    /// <summary><c>struct rlimit</c>: two <c>rlim_t</c>, an unsigned long, which is <see cref="nuint"/> on 32- and 64-bit Linux.</summary>
    [StructLayout(LayoutKind.Sequential)]
    private record struct Limit(nuint Current, nuint Maximum);

    // DllImport, not LibraryImport: the generated stub needs unsafe code, which this project does not allow; the
    // struct is blittable, so the runtime passes it as a pointer without marshalling. Two calls at start.
#pragma warning disable SYSLIB1054
    [DllImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int GetLimit(int resource, out Limit limit);

    [DllImport("libc", EntryPoint = "setrlimit", SetLastError = true)]
    [DefaultDllImportSearchPaths(DllImportSearchPath.SafeDirectories)]
    private static extern int SetLimit(int resource, ref Limit limit);
#pragma warning restore SYSLIB1054
}

/// <summary>The descriptor limit in force (<paramref name="Soft"/>), the hard one, the soft one before this process raised it, and errno if raising failed.</summary>
internal readonly record struct DescriptorLimitReading(long Soft, long Hard, long SoftBefore, int RaiseError);
