"""The local CA: stored safely, kept across restarts, replaced when broken; its leaves pass strict checks."""

from __future__ import annotations

import shutil
import ssl
import stat
import subprocess
from pathlib import Path

import pytest
from cryptography import x509

from claude_tap.proxy.ca import (
    BUNDLE_FILE,
    CA_CERT_FILE,
    CA_KEY_FILE,
    LocalCa,
    ca_dir,
    system_roots_file,
    trust_files,
)


def new_ca(tmp_path: Path, warnings: list[str] | None = None) -> LocalCa:
    return LocalCa.load_or_create(tmp_path / "ca", (warnings if warnings is not None else []).append)


def handshake(server: ssl.SSLContext, client: ssl.SSLContext, server_hostname: str) -> ssl.SSLObject:
    """A complete TLS handshake in memory; returns the client's side (raises what the client raises)."""
    c_in, c_out, s_in, s_out = ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO(), ssl.MemoryBIO()
    client_side = client.wrap_bio(c_in, c_out, server_hostname=server_hostname)
    server_side = server.wrap_bio(s_in, s_out, server_side=True)
    done = {"client": False, "server": False}
    for _ in range(10):
        for name, side, out, peer_in in (
            ("client", client_side, c_out, s_in),
            ("server", server_side, s_out, c_in),
        ):
            if not done[name]:
                try:
                    side.do_handshake()
                    done[name] = True
                except ssl.SSLWantReadError:
                    pass
            peer_in.write(out.read())
        if all(done.values()):
            return client_side
    raise AssertionError("handshake did not finish")


def strict_client(ca: LocalCa) -> ssl.SSLContext:
    client = ssl.create_default_context(cadata=ca.cert_pem.decode())
    client.verify_flags |= ssl.VERIFY_X509_STRICT  # the default on Python 3.13: SKI/AKI, critical CA bits
    client.set_alpn_protocols(["h2", "http/1.1"])
    return client


def test_the_ca_is_stored_private_and_survives_a_restart(tmp_path: Path) -> None:
    ca = new_ca(tmp_path)
    directory = tmp_path / "ca"
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert stat.S_IMODE((directory / CA_KEY_FILE).stat().st_mode) == 0o600
    again = new_ca(tmp_path)
    assert again.fingerprint == ca.fingerprint
    assert again.cert_pem == (directory / CA_CERT_FILE).read_bytes()


def test_the_ca_has_the_extensions_strict_verifiers_demand(tmp_path: Path) -> None:
    cert = new_ca(tmp_path).cert
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.critical and constraints.value.ca
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.key_cert_sign
    assert cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert cert.public_key().curve.name == "secp256r1"  # type: ignore[union-attr]
    # Backdated a day, for clients whose clock is behind.
    assert (cert.not_valid_after_utc - cert.not_valid_before_utc).days > 3000


def test_a_corrupt_ca_is_replaced_with_a_warning(tmp_path: Path) -> None:
    old = new_ca(tmp_path)
    (tmp_path / "ca" / CA_KEY_FILE).write_bytes(b"not a key")
    warnings: list[str] = []
    new = new_ca(tmp_path, warnings)
    assert new.fingerprint != old.fingerprint
    assert len(warnings) == 1 and "cannot be used" in warnings[0] and "claude-tap ca" in warnings[0]
    assert new_ca(tmp_path).fingerprint == new.fingerprint  # and the replacement is kept


def test_a_key_that_belongs_to_another_ca_is_replaced(tmp_path: Path) -> None:
    first = new_ca(tmp_path / "a")
    new_ca(tmp_path / "b")
    shutil.copy(tmp_path / "b" / "ca" / CA_KEY_FILE, tmp_path / "a" / "ca" / CA_KEY_FILE)
    warnings: list[str] = []
    assert new_ca(tmp_path / "a", warnings).fingerprint != first.fingerprint
    assert "does not belong" in warnings[0]


def test_regenerate_makes_a_new_ca(tmp_path: Path) -> None:
    old = new_ca(tmp_path)
    new = LocalCa.load_or_create(tmp_path / "ca", print, regenerate=True)
    assert new.fingerprint != old.fingerprint


@pytest.mark.parametrize("host", ["api.anthropic.com", "127.0.0.1", "::1"])
def test_a_leaf_passes_pythons_strict_verifier(tmp_path: Path, host: str) -> None:
    ca = new_ca(tmp_path)
    client = handshake(ca.server_context(host), strict_client(ca), host)
    assert client.selected_alpn_protocol() == "http/1.1"  # never h2: we serve HTTP/1.1 only
    peer = x509.load_der_x509_certificate(client.getpeercert(binary_form=True) or b"")
    assert peer.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    assert peer.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)


def test_a_leaf_is_refused_for_another_host_and_by_a_client_that_does_not_trust_the_ca(
    tmp_path: Path,
) -> None:
    ca = new_ca(tmp_path)
    with pytest.raises(ssl.SSLCertVerificationError, match="mismatch|match"):
        handshake(ca.server_context("api.anthropic.com"), strict_client(ca), "api.openai.com")
    with pytest.raises(ssl.SSLCertVerificationError, match="self-signed certificate in certificate chain"):
        handshake(ca.server_context("api.anthropic.com"), ssl.create_default_context(), "api.anthropic.com")


def test_leaf_contexts_are_cached_and_no_key_file_is_left_behind(tmp_path: Path) -> None:
    ca = new_ca(tmp_path)
    assert ca.server_context("API.openai.com") is ca.server_context("api.openai.com")
    assert sorted(p.name for p in (tmp_path / "ca").iterdir()) == [CA_KEY_FILE, CA_CERT_FILE]


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl binary")
def test_openssl_verifies_a_leaf_with_strict_checks(tmp_path: Path) -> None:
    ca = new_ca(tmp_path)
    leaf = tmp_path / "leaf.pem"
    leaf.write_bytes(ca.leaf_pem("chatgpt.com"))
    done = subprocess.run(
        ["openssl", "verify", "-x509_strict", "-purpose", "sslserver", "-verify_hostname", "chatgpt.com",
         "-CAfile", str(tmp_path / "ca" / CA_CERT_FILE), str(leaf)],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode == 0 and "OK" in done.stdout, done.stdout + done.stderr


def test_the_trust_bundle_holds_the_system_roots_and_the_ca(tmp_path: Path) -> None:
    ca = new_ca(tmp_path)
    files = trust_files(ca, {})
    bundle = files.bundle.read_bytes()
    assert files.bundle.name == BUNDLE_FILE and files.ca_cert == tmp_path / "ca" / CA_CERT_FILE
    assert bundle.endswith(ca.cert_pem)
    roots = system_roots_file()
    if roots is not None:
        assert bundle.startswith(roots.read_bytes().rstrip(b"\n"))
        # A client taking the bundle as its whole trust store trusts both.
        assert len(ssl.create_default_context(cafile=str(files.bundle)).get_ca_certs()) > 1


def test_the_users_own_ssl_cert_file_stays_trusted(tmp_path: Path) -> None:
    ca = new_ca(tmp_path)
    corporate = new_ca(tmp_path / "corp")
    files = trust_files(ca, {"SSL_CERT_FILE": str(corporate.cert_path)})
    assert corporate.cert_pem in files.bundle.read_bytes() and ca.cert_pem in files.bundle.read_bytes()
    assert files.bundle.name != BUNDLE_FILE  # its own file: another run without it keeps the plain one


def test_the_ca_lives_in_the_claude_tap_home(tmp_path: Path) -> None:
    assert ca_dir({"CLAUDE_TAP_HOME": str(tmp_path)}) == tmp_path / "ca"
    assert ca_dir({"HOME": str(tmp_path)}) == tmp_path / ".claude-tap" / "ca"
