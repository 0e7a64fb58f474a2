"""Starts the real ``runmesh-relay`` binary on 127.0.0.1:0 with a fresh data directory,
for the tests: ``RUNMESH_RELAY_BIN`` names it (default ``debug/runmesh-relay`` in Cargo's
target directory, ``$CARGO_TARGET_DIR`` or ``target/``)."""

from __future__ import annotations

import os
import re
import shutil
import signal
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import List, Optional

ROOT = Path(__file__).resolve().parents[2]
STARTUP_SECONDS = 20


class Relay:
    """One relay process; ``restart()`` brings it back on the same port and data."""

    def __init__(self, region: str = "python", port: int = 0, data_dir: Optional[str] = None) -> None:
        self.region = region
        self.data_dir = data_dir or tempfile.mkdtemp(prefix="runmesh-py-relay-")
        self._start(port)

    def _start(self, port: int) -> None:
        target = ROOT / os.environ.get("CARGO_TARGET_DIR", "target")  # an absolute one wins
        binary = os.environ.get("RUNMESH_RELAY_BIN", str(target / "debug" / "runmesh-relay"))
        args: List[str] = [binary, "--listen", f"127.0.0.1:{port}", "--region", self.region, "--data-dir", self.data_dir]
        self.proc = subprocess.Popen(
            args,
            stdout=subprocess.PIPE,
            env={**os.environ, "RUST_LOG": "warn"},
            text=True,
        )
        line = _first_line(self.proc, STARTUP_SECONDS)
        match = re.search(r"http://[0-9.:]+", line)
        if not match:
            self.proc.kill()
            raise RuntimeError(f"no address in the relay's first line: {line!r}")
        self.http = match.group(0)
        self.ws = self.http.replace("http://", "ws://") + "/ws"
        self.port = int(self.http.rsplit(":", 1)[1])

    def stop(self, keep_data: bool = False) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        if not keep_data:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def restart(self) -> None:
        self._start(self.port)


def _first_line(proc: "subprocess.Popen[str]", timeout: float) -> str:
    """The process's first line of output, or an error after ``timeout`` seconds."""
    lines: List[str] = []
    reader = threading.Thread(target=lambda: lines.append(proc.stdout.readline() if proc.stdout else ""))
    reader.daemon = True
    reader.start()
    reader.join(timeout)
    if not lines or not lines[0]:
        proc.kill()
        raise RuntimeError(f"the relay printed no address in {timeout} s (exit code {proc.poll()})")
    return lines[0]
