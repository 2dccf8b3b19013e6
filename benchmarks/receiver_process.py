"""The harness's side of the receiver process (benchmarks/receiver.py): start it,
ask it what arrived, stop it. With TLS (the ntfys:// channels) it also gets a
throwaway CA (trustme, a test extra: only those channels need it), which the
contenders are told to trust as a user would (REQUESTS_CA_BUNDLE)."""

from __future__ import annotations

import json
import subprocess
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.common import PYTHON, REPO_DIR, bench_env, stop_process


@dataclass
class Receiver:
    process: subprocess.Popen[bytes]
    port: int

    @property
    def json_url(self) -> str:
        return f"json://127.0.0.1:{self.port}/notify"

    def _call(self, path: str, method: str = "GET") -> dict[str, Any]:
        request = urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", method=method,
                                         data=b"" if method == "POST" else None)
        with urllib.request.urlopen(request, timeout=30) as response:
            return dict(json.loads(response.read()))

    def reset(self) -> None:
        self._call("/_reset", "POST")

    def count(self) -> dict[str, Any]:
        return self._call("/_count")

    def stats(self) -> dict[str, Any]:
        return self._call("/_stats")

    def wait_for(self, n: int, timeout: float, idle_timeout: float = 30.0) -> dict[str, Any]:
        """Poll until `n` posts arrived, `timeout` passed, or nothing came for `idle_timeout`."""
        deadline = time.monotonic() + timeout
        last_count, last_change = -1, time.monotonic()
        while True:
            current = self.count()
            if current["count"] >= n:
                return current
            now = time.monotonic()
            if current["count"] != last_count:
                last_count, last_change = current["count"], now
            if now > deadline or (current["count"] > 0 and now - last_change > idle_timeout):
                return current
            time.sleep(0.05)

    def stop(self) -> None:
        stop_process(self.process)


def start_receiver(workdir: Path, tls: bool = False) -> Receiver:
    """The receiver process; with `tls`, a TlsReceiver with a fresh CA and a TLS port."""
    ready = workdir / "receiver.port"
    ready.unlink(missing_ok=True)
    ca_pem, server_pem = throwaway_ca(workdir) if tls else (None, None)
    log = (workdir / "receiver.log").open("wb")
    process = subprocess.Popen(
        [PYTHON, "-m", "benchmarks.receiver", "--ready-file", str(ready),
         *(["--tls-cert", str(server_pem)] if server_pem else [])],
        cwd=REPO_DIR, env=bench_env(None), stdout=log, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 20
    while not ready.exists() or len(ready.read_text().split()) < (2 if tls else 1):
        if process.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"the receiver did not start; see {workdir / 'receiver.log'}")
        time.sleep(0.02)
    ports = [int(p) for p in ready.read_text().split()]
    if ca_pem is not None:
        return TlsReceiver(process, ports[0], tls_port=ports[1], ca_bundle=ca_pem)
    return Receiver(process, ports[0])


@dataclass
class TlsReceiver(Receiver):
    """The receiver also listening with TLS: `port` stays its plain port (control and
    the plain channels), `tls_port` takes the ntfys:// deliveries with a certificate
    from a throwaway CA whose certificate is `ca_bundle` (what REQUESTS_CA_BUNDLE names)."""

    tls_port: int = 0
    ca_bundle: Path = Path()

    @property
    def trust_env(self) -> dict[str, str]:
        """What a user sets so that requests (and so Apprise and heupreminder) trusts the CA."""
        return {"REQUESTS_CA_BUNDLE": str(self.ca_bundle)}


def throwaway_ca(workdir: Path) -> tuple[Path, Path]:
    """A trustme CA and a certificate for 127.0.0.1: (the CA's PEM, key + chain PEM)."""
    import trustme  # the test extra; only the TLS channels need it

    ca = trustme.CA()
    ca_pem, server_pem = workdir / "receiver-ca.pem", workdir / "receiver-tls.pem"
    ca.cert_pem.write_to_path(str(ca_pem))
    ca.issue_cert("127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(server_pem))
    return ca_pem, server_pem
