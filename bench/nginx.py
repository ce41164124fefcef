"""nginx (Debian's package) in front of riskmap instances on loopback, configured by
deploy/nginx.conf itself with its ports rewritten: the instances bench (bench/instances.py) and
tests/instances/ start it alike. Standard library only."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NGINX = shutil.which("nginx") or "/usr/sbin/nginx"
SITE = ROOT / "deploy" / "nginx.conf"


def available() -> bool:
    return Path(NGINX).exists()


def nginx_conf(
    folder: Path,
    listen: int,
    upstreams: list[int],
    workers: int | str = 1,
    access_log: bool = True,
) -> Path:
    """deploy/nginx.conf listening on 127.0.0.1:``listen`` with ``upstreams`` (loopback ports),
    inside a main file of its own in ``folder`` (pid, logs and temp files there too); without
    ``access_log`` none is written (a load test's lines would cost the proxy's CPU)."""
    site = SITE.read_text()
    servers = "".join(f"    server 127.0.0.1:{p} max_fails=1 fail_timeout=2s;\n" for p in upstreams)
    site, n = re.subn(r"(?m)^    server 127\.0\.0\.1:\d+ [^\n]*\n", "", site)
    if n < 1:
        raise ValueError(f"{SITE} must list its upstream servers as '    server 127.0.0.1:P ...'")
    site = site.replace("upstream riskmap {\n", "upstream riskmap {\n" + servers, 1)
    site, n = re.subn(r"(?m)^    listen \d+;", f"    listen 127.0.0.1:{listen};", site)
    if n != 1:
        raise ValueError(f"{SITE} must have one '    listen PORT;' line")
    (folder / "riskmap.conf").write_text(site)
    temp = "".join(
        f"    {kind}_temp_path {folder / kind};\n"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    user = "user root root;\n" if os.geteuid() == 0 else ""  # else nginx switches to nobody
    log = folder / "access.log" if access_log else "off"
    main = folder / "nginx.conf"
    main.write_text(
        f"{user}worker_processes {workers};\npid {folder / 'nginx.pid'};\n"
        f"error_log {folder / 'error.log'} warn;\n"
        "events { worker_connections 2048; }\n"
        f"http {{\n    access_log {log};\n{temp}"
        f"    include {folder / 'riskmap.conf'};\n}}\n"
    )
    return main


def start_nginx(
    folder: Path,
    listen: int,
    upstreams: list[int],
    *,
    workers: int | str = 1,
    access_log: bool = True,
) -> subprocess.Popen:
    """nginx in the foreground on 127.0.0.1:``listen`` in front of ``upstreams``, its files in
    ``folder`` (made if missing); the configuration is checked (``nginx -t``) first."""
    folder.mkdir(parents=True, exist_ok=True)
    conf = nginx_conf(folder, listen, upstreams, workers, access_log)
    base = [NGINX, "-p", str(folder), "-c", str(conf), "-e", "stderr"]
    checked = subprocess.run([*base, "-t"], capture_output=True, text=True, check=False)
    if checked.returncode != 0:
        raise RuntimeError(f"nginx -t refused {conf}: {checked.stderr.strip()}")
    return subprocess.Popen(
        [*base, "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=(folder / "stderr.log").open("w"),
    )


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(10)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(10)
