"""`mlgit serve`: the bundle's own runtime, for a release named as everywhere else or a bundle archive."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from testing.oip import MODEL, WHEEL_CACHE_ENV, Served, call, folder_of


def test_serving_a_release_packages_it_into_the_store_and_serves_it(
    released_repo: Path, packaged: Path, wheel_cache: Path, tmp_path: Path
) -> None:
    request = json.loads((folder_of(packaged) / "golden/input.json").read_text())
    outputs = json.loads((folder_of(packaged) / "golden/output.json").read_text())["outputs"]
    digest = packaged.with_name(packaged.name + ".sha256").read_text().split()[0]
    env = {**os.environ, WHEEL_CACHE_ENV: str(wheel_cache)}
    # MODEL alone names its latest release, as in `mlgit package`.
    args = [sys.executable, "-m", "mlgit", "-C", str(released_repo), "serve", MODEL, "--port", "0"]
    with Served(args, tmp_path / "serve.err", env=env) as server:
        assert server.ready["digest"] == f"sha256:{digest}"
        conn = server.connect()
        status, reply = call(conn, "POST", f"/v2/models/{MODEL}/infer", request)
        assert status == 200 and reply["outputs"] == outputs
        code, stopped = server.stop()
    assert code == 0 and stopped["accepted"] == stopped["answered"] == 1
    assert (released_repo / ".git/mlgit/bundles" / f"{digest}.tar.gz").read_bytes() == packaged.read_bytes()
