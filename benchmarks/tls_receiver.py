"""The benchmark receiver over TLS, for the ntfys:// channels: a throwaway CA
(trustme, a test extra: only these channels need it) and what the contenders are
given to trust it, as a user would (REQUESTS_CA_BUNDLE)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from benchmarks.common import Receiver


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
