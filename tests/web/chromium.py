"""How riskmap starts Debian's Chromium headless, for the browser tests and the web benchmark."""

from __future__ import annotations

import os
import shutil

CHROMIUM = os.environ.get("RISKMAP_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"

# Headless Chromium with WebGL from SwiftShader (no GPU here), and none of Chromium's own
# background traffic (updates, sync, safe browsing): the machine has no internet.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--use-gl=angle",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
    "--ignore-gpu-blocklist",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-default-apps",
    "--no-first-run",
    "--disable-quic",
    "--disable-features=Translate,MediaRouter,OptimizationHints",
]
