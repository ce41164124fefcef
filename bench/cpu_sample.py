"""Where the CPU went while a load ran, from /proc: cores used per group of processes (a group
is some root pids and their descendants; what no group claims is "other", and the machine's
idle time is "idle"). Used by the instances bench to say what limits a second instance, and
its process table by the tiles bench to renice a server's whole tree."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

GROUPS = ("riskmap", "postgres", "nginx", "load", "other", "idle")


def _tick() -> int:
    return os.sysconf("SC_CLK_TCK")


def processes() -> dict[int, tuple[str, int, int]]:
    """pid → (command name, parent pid, CPU ticks so far) of every process now."""
    found = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:  # ended meanwhile
            continue
        close = text.rfind(")")
        fields = text[close + 2 :].split()  # from field 3 (state) on
        name = text[text.find("(") + 1 : close]
        found[int(entry)] = (name, int(fields[1]), int(fields[11]) + int(fields[12]))
    return found


def _idle_ticks() -> int:
    cpu = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
    return int(cpu[3]) + int(cpu[4])  # idle + iowait


class CpuSample:
    """Where the CPU went while a load ran: cores used per group, measured from ``lead`` s after
    the start to ``tail`` s before the end of a ``seconds`` run (wrk's own start and end out)."""

    def __init__(self, roots: dict[str, list[int]], seconds: float, lead=None, tail=None) -> None:
        if lead is None or tail is None:  # 1 s and 0.5 s; a short run keeps most of its span
            lead, tail = (1.0, 0.5) if seconds >= 5 else (0.2 * seconds, 0.1 * seconds)
        self.roots = roots  # group → pids whose descendants (and themselves) belong to it
        self.cores: dict[str, float] = {}
        self._args = (seconds, lead, tail)
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _group(self, pid: int, procs: dict[int, tuple[str, int, int]]) -> str:
        seen = pid
        for _ in range(64):
            for group, pids in self.roots.items():
                if seen in pids:
                    return group
            parent = procs.get(seen, ("", 0, 0))[1]
            if parent <= 1:
                return "other"
            seen = parent
        return "other"

    def _run(self) -> None:
        seconds, lead, tail = self._args
        time.sleep(lead)
        before, idle0, t0 = processes(), _idle_ticks(), time.monotonic()
        time.sleep(max(min(0.5, seconds / 2), seconds - lead - tail))
        after, idle1, t1 = processes(), _idle_ticks(), time.monotonic()
        ticks = {g: 0 for g in GROUPS}
        for pid, (_, _, used) in after.items():
            start = before[pid][2] if pid in before else 0
            ticks[self._group(pid, after)] += max(0, used - start)
        ticks["idle"] = idle1 - idle0
        span = (t1 - t0) * _tick()
        self.cores = {g: ticks[g] / span for g in GROUPS}

    def result(self) -> dict[str, float]:
        self._thread.join()
        return self.cores
