"""`mlgit serve BUNDLE|RELEASE`: run the bundle's own serving runtime (Open Inference Protocol v2)."""

from __future__ import annotations

from pathlib import Path

from mlgit.package import runtime
from mlgit.serve import bundles


def run(
    cwd: Path,
    bundle: str,
    host: str,
    port: int,
    workers: int,
    log_dir: str | None,
    log_sample: float,
) -> int:
    """Serve until SIGTERM; the same runtime `python BUNDLE serve` runs, in this interpreter."""
    with bundles.opened(bundle, cwd) as opened:
        args = ["serve", "--host", host, "--port", str(port), "--workers", str(workers)]
        args += ["--log-sample", str(log_sample)]
        if log_dir:
            args += ["--log-dir", str(cwd / log_dir)]
        if opened.digest:
            args += ["--digest", f"sha256:{opened.digest}"]
        return runtime.main(args, bundle=opened.folder)
