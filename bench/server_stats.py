"""What the dev server says about its own work (its Prometheus endpoint, ``--metrics-port``): latency
histograms' sums and counts by operation, and its CPU time, as differences over a measured window."""

from __future__ import annotations

import re
import urllib.request
from collections import defaultdict
from dataclasses import dataclass, field

from bench.infra import cpu_seconds

FAMILIES = ("persistence_latency", "semaphore_latency", "lock_latency", "task_latency_queue", "task_latency",
            "service_latency", "history_workflow_execution_cache_lock_hold_duration")
_LINE = re.compile(r"^(?P<name>[a-z_]+)_(?P<kind>sum|count)\{(?P<labels>[^}]*)\} (?P<value>[0-9.e+-]+)$")


def scrape(metrics_port: int) -> dict[tuple[str, str, str], list[float]]:
    """(family, service, operation) -> [sum seconds, count] so far."""
    with urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=10) as res:
        text = res.read().decode()
    out: dict[tuple[str, str, str], list[float]] = defaultdict(lambda: [0.0, 0.0])
    for line in text.splitlines():
        match = _LINE.match(line)
        if not match or match["name"] not in FAMILIES:
            continue
        labels = dict(re.findall(r'(\w+)="([^"]*)"', match["labels"]))
        key = (match["name"], labels.get("service_name", ""), labels.get("operation", ""))
        out[key][0 if match["kind"] == "sum" else 1] += float(match["value"])
    return out


@dataclass
class Window:
    """The server's work between ``start()`` and ``stop()``."""

    metrics_port: int
    pid: int
    cpu_s: float = 0.0
    by_key: dict[tuple[str, str, str], tuple[float, int]] = field(default_factory=dict)
    _before: dict[tuple[str, str, str], list[float]] = field(default_factory=dict)
    _cpu_before: float = 0.0

    def start(self) -> None:
        self._before = scrape(self.metrics_port)
        self._cpu_before = cpu_seconds(self.pid)

    def stop(self) -> None:
        self.cpu_s = cpu_seconds(self.pid) - self._cpu_before
        after = scrape(self.metrics_port)
        self.by_key = {}
        for key, (total, count) in after.items():
            before = self._before.get(key, [0.0, 0.0])
            if count - before[1] > 0:
                self.by_key[key] = (total - before[0], int(count - before[1]))

    def family(self, name: str, service: str = "") -> dict[str, tuple[float, int]]:
        """operation -> (seconds, count) of one histogram family (all services unless ``service``)."""
        out: dict[str, tuple[float, int]] = {}
        for (fam, svc, op), (total, count) in self.by_key.items():
            if fam == name and (not service or svc == service):
                s, c = out.get(op, (0.0, 0))
                out[op] = (s + total, c + count)
        return out

    def total(self, name: str, service: str = "") -> tuple[float, int]:
        values = self.family(name, service).values()
        return sum(v[0] for v in values), sum(v[1] for v in values)
