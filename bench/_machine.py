"""What machine a benchmark ran on (printed with every result)."""

from __future__ import annotations

import os
import platform


def machine() -> dict:
    cpu = ""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem_gib = None
    try:
        with open("/proc/meminfo", encoding="utf-8") as fh:
            mem_gib = round(int(fh.readline().split()[1]) / 1024 / 1024, 1)
    except (OSError, ValueError, IndexError):
        pass
    return {
        "cpu": cpu or platform.processor(),
        "cores": os.cpu_count(),
        "memory_gib": mem_gib,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def _proc_table() -> dict[int, tuple[int, str, float]]:
    """pid -> (parent pid, command name, CPU seconds so far) for every process we can read."""
    tick = os.sysconf("SC_CLK_TCK")
    table = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="utf-8") as fh:
                raw = fh.read()
        except OSError:
            continue
        name = raw[raw.index("(") + 1 : raw.rindex(")")]
        fields = raw[raw.rindex(")") + 2 :].split()
        # fields[1] is ppid; utime and stime are fields 14 and 15 of the whole line.
        table[int(entry)] = (int(fields[1]), name, (int(fields[11]) + int(fields[12])) / tick)
    return table


def cpu_by_group(groups: dict[str, int], *, self_pid: int | None = None) -> dict[str, float]:
    """CPU seconds used so far by each named process tree (a root pid with all its
    descendants), plus ``postgres`` (every postgres process) and ``bench`` (this process)."""
    table = _proc_table()
    children: dict[int, list[int]] = {}
    for pid, (ppid, _, _) in table.items():
        children.setdefault(ppid, []).append(pid)

    def tree(pid: int) -> float:
        return table.get(pid, (0, "", 0.0))[2] + sum(tree(c) for c in children.get(pid, []))

    used = {name: tree(pid) for name, pid in groups.items()}
    used["postgres"] = sum(cpu for _, name, cpu in table.values() if name == "postgres")
    used["bench"] = table.get(self_pid or os.getpid(), (0, "", 0.0))[2]
    return used


#: PostgreSQL's socket directory on Debian (``unix_socket_directories``).
PG_SOCKET_DIR = "/var/run/postgresql"


def local_postgres_url(database: str = "test") -> str:
    """The local PostgreSQL server, through its Unix socket where it has one (as a deployment
    with the database on the same host connects): a socket round trip costs both sides less
    CPU than TCP over loopback (bench/checkout.py: about 1.5 ms per order, web and PostgreSQL
    together). TCP on 127.0.0.1 otherwise."""
    if os.path.exists(os.path.join(PG_SOCKET_DIR, ".s.PGSQL.5432")):
        return f"postgres://postgres@{PG_SOCKET_DIR.replace('/', '%2F')}/{database}"
    return f"postgres://postgres@127.0.0.1:5432/{database}"
