"""The opening lines every bench report shares: its title, where it came from, the note, the date and the machine."""
import datetime, os, platform, socket


def cpu_model():
    try:
        return next(l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name"))
    except (OSError, StopIteration):
        return "unknown"


def header(title, script, how, note, load):
    """Markdown lines: the title, the script that wrote it and the docs anchor saying how it works, the note, then the
    first rows of the setup table (date; machine with the load average before and after the rounds)."""
    out = [f"# {title}\n", f"Written by `{script}`; do not edit by hand. How it works: [docs/benchmarks.md](../../docs/benchmarks.md#{how}).\n"]
    if note:
        out.append(f"> {note}\n")
    out.append("| | |\n|---|---|")
    out.append(f"| date | {datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC |")
    out.append(f"| machine | `{socket.gethostname()}`, {cpu_model()}, `nproc` {os.cpu_count()}, {platform.platform()}; "
               f"load average {' → '.join(load)} before → after the rounds |")
    return out
