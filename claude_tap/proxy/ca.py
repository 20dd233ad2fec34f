"""The local certificate authority of forward mode (DESIGN section 3), and the leaf certificates it mints.

    ca = LocalCa.load_or_create(ca_dir(env), warn=log.warning)
    context = ca.server_context("api.anthropic.com")    # an ssl.SSLContext serving a leaf for that host
    files = trust_files(ca, env)                        # what the child's trust variables point at

The CA is an EC P-256 key and a self-signed certificate with the extensions strict verifiers demand
(Python 3.13's VERIFY_X509_STRICT, Go, rustls): basicConstraints CA critical, keyUsage keyCertSign
critical, SubjectKeyIdentifier. It lives in `<claude-tap home>/ca/` (a 0700 directory, the key 0600) and
survives restarts, so a user trusts it once. A file that cannot be read back is replaced, with a warning.

Leaf certificates are minted in memory for each host the proxy decrypts, one shared leaf key per process,
and cached. `ssl.SSLContext.load_cert_chain` only reads files: the PEM goes into an anonymous memory file
(`memfd_create`) on Linux; elsewhere into a 0600 file inside the 0700 CA directory, removed as soon as it
is loaded. A private key never lands in a shared temporary directory.

notBefore is backdated a day: clients on a machine whose clock is a little behind still accept them.
This module knows nothing about sockets, the event loop, clients or the trace.
"""

from __future__ import annotations

import contextlib
import datetime
import hashlib
import ipaddress
import os
import secrets
import ssl
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.types import CertificatePublicKeyTypes
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from claude_tap.store.paths import claude_tap_home

CA_DIR = "ca"
CA_CERT_FILE = "claude-tap-ca.pem"  # public: what users trust
CA_KEY_FILE = "claude-tap-ca.key"  # private, 0600
BUNDLE_FILE = "trust-bundle.pem"  # system roots + our CA (SSL_CERT_FILE and friends)
CA_COMMON_NAME = "claude-tap local CA"

_DIR_MODE = 0o700
_KEY_MODE = 0o600
_CA_VALIDITY = datetime.timedelta(days=3650)
_LEAF_VALIDITY = datetime.timedelta(days=90)
_BACKDATE = datetime.timedelta(days=1)
# Where Linux distributions and macOS keep the system roots, when OpenSSL's default names none that exists.
_SYSTEM_ROOTS = (
    "/etc/ssl/certs/ca-certificates.crt",  # Debian, Ubuntu, Alpine, Arch
    "/etc/pki/tls/certs/ca-bundle.crt",  # Fedora, RHEL
    "/etc/ssl/ca-bundle.pem",  # openSUSE
    "/etc/ssl/cert.pem",  # macOS, Alpine, BSDs
)

Warn = Callable[[str], None]


def ca_dir(env: Mapping[str, str]) -> Path:
    return claude_tap_home(env) / CA_DIR


class LocalCa:
    """The CA certificate and key, and the cache of leaf contexts minted from them."""

    def __init__(self, directory: Path, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> None:
        self.directory = directory
        self.cert = cert
        self._key = key
        self._leaf_key = ec.generate_private_key(ec.SECP256R1())
        self._leaf_key_pem = self._leaf_key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        self._ski = x509.SubjectKeyIdentifier.from_public_key(cert.public_key())
        self._contexts: dict[str, ssl.SSLContext] = {}

    # -- the CA itself ------------------------------------------------------------------------------

    @classmethod
    def load_or_create(cls, directory: Path, warn: Warn, *, regenerate: bool = False) -> LocalCa:
        """The CA stored in `directory`; a new one when there is none, when `regenerate`, or when the
        stored one cannot be used (then `warn` says so: clients that trusted the old one must trust
        the new one)."""
        _private_dir(directory)
        cert_path, key_path = directory / CA_CERT_FILE, directory / CA_KEY_FILE
        if not regenerate and (cert_path.exists() or key_path.exists()):
            try:
                return cls._load(directory)
            except (OSError, ValueError) as error:
                warn(
                    f"the local CA in {directory} cannot be used ({error}); a new one replaces it. "
                    f"Clients that trusted the old one must trust the new one (claude-tap ca)."
                )
        return cls._create(directory)

    @classmethod
    def _load(cls, directory: Path) -> LocalCa:
        cert = x509.load_pem_x509_certificate((directory / CA_CERT_FILE).read_bytes())
        key = serialization.load_pem_private_key((directory / CA_KEY_FILE).read_bytes(), password=None)
        if not isinstance(key, ec.EllipticCurvePrivateKey):
            raise ValueError("the CA key is not an EC key")
        if _spki(key.public_key()) != _spki(cert.public_key()):
            raise ValueError("the CA key does not belong to the CA certificate")
        if cert.not_valid_after_utc <= _now() + datetime.timedelta(days=1):
            raise ValueError("the CA certificate has expired")
        os.chmod(directory / CA_KEY_FILE, _KEY_MODE)  # a key loosened by hand is tightened again
        return cls(directory, cert, key)

    @classmethod
    def _create(cls, directory: Path) -> LocalCa:
        key = ec.generate_private_key(ec.SECP256R1())
        # A random suffix: two machines' CAs never share a name, so trusting one never shadows the other.
        name = x509.Name(
            [
                x509.NameAttribute(NameOID.COMMON_NAME, f"{CA_COMMON_NAME} {secrets.token_hex(4)}"),
                x509.NameAttribute(NameOID.ORGANIZATION_NAME, "claude-tap"),
            ]
        )
        now = _now()
        ski = x509.SubjectKeyIdentifier.from_public_key(key.public_key())
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + _CA_VALIDITY)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=True,
                    crl_sign=True,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(ski, critical=False)
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski), critical=False
            )
            .sign(key, hashes.SHA256())
        )
        key_pem = key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )
        _write_private(directory / CA_KEY_FILE, key_pem)
        _write_public(directory / CA_CERT_FILE, cert.public_bytes(serialization.Encoding.PEM))
        for stale in directory.glob("trust-bundle*.pem"):  # they hold the old CA: rebuilt on next use
            stale.unlink(missing_ok=True)
        return cls(directory, cert, key)

    @property
    def cert_path(self) -> Path:
        return self.directory / CA_CERT_FILE

    @property
    def cert_pem(self) -> bytes:
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def fingerprint(self) -> str:
        """SHA-256 of the DER certificate, as browsers and `openssl x509 -fingerprint -sha256` show it."""
        digest = self.cert.fingerprint(hashes.SHA256()).hex().upper()
        return ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))

    # -- leaves -------------------------------------------------------------------------------------

    def leaf_pem(self, host: str) -> bytes:
        """A PEM certificate for `host` (a DNS name or an IP address), signed by the CA."""
        now = _now()
        try:
            san: x509.GeneralName = x509.IPAddress(ipaddress.ip_address(host))
        except ValueError:
            san = x509.DNSName(host)
        cert = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, host[:64])]))
            .issuer_name(self.cert.subject)
            .public_key(self._leaf_key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(min(now + _LEAF_VALIDITY, self.cert.not_valid_after_utc))
            .add_extension(x509.SubjectAlternativeName([san]), critical=False)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    key_cert_sign=False,
                    crl_sign=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
            .add_extension(
                x509.SubjectKeyIdentifier.from_public_key(self._leaf_key.public_key()), critical=False
            )
            .add_extension(
                x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(self._ski), critical=False
            )
            .sign(self._key, hashes.SHA256())
        )
        return cert.public_bytes(serialization.Encoding.PEM)

    def server_context(self, host: str) -> ssl.SSLContext:
        """A server-side TLS context presenting a leaf for `host` (chain: leaf, CA), ALPN http/1.1.
        Minted on first use, then cached for the life of this object."""
        host = host.lower()
        context = self._contexts.get(host)
        if context is None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            context.set_alpn_protocols(["http/1.1"])
            with self._key_file(self.leaf_pem(host) + self.cert_pem + self._leaf_key_pem) as path:
                context.load_cert_chain(path)
            self._contexts[host] = context
        return context

    @contextlib.contextmanager
    def _key_file(self, pem: bytes) -> Iterator[str]:
        """A path to `pem` that only exists while the context manager is open, never in /tmp."""
        if hasattr(os, "memfd_create"):
            fd = os.memfd_create("claude-tap-leaf", os.MFD_CLOEXEC)
            try:
                os.write(fd, pem)
                yield f"/proc/self/fd/{fd}"
            finally:
                os.close(fd)
            return
        path = self.directory / f".leaf-{secrets.token_hex(8)}.pem"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _KEY_MODE)
        try:
            with os.fdopen(fd, "wb") as file:
                file.write(pem)
            yield str(path)
        finally:
            path.unlink(missing_ok=True)


# --- trust files for the child ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrustFiles:
    """What the child's trust variables point at (launch.forward_proxy_env)."""

    bundle: Path  # system roots + our CA: SSL_CERT_FILE, REQUESTS_CA_BUNDLE, CURL_CA_BUNDLE, ...
    ca_cert: Path  # our CA alone: NODE_EXTRA_CA_CERTS (Node adds it to its own roots)


def system_roots_file() -> Path | None:
    """The system's root certificates as one PEM file, or None when none is found."""
    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile, *_SYSTEM_ROOTS):
        if candidate and os.path.isfile(candidate):
            return Path(candidate)
    return None


def trust_files(ca: LocalCa, env: Mapping[str, str]) -> TrustFiles:
    """Write (when missing or stale) the bundle of system roots, the user's own SSL_CERT_FILE if set
    (a corporate CA keeps working for tunnelled hosts), and our CA; return its path and the CA's."""
    parts: list[bytes] = []
    roots = system_roots_file()
    if roots is not None:
        parts.append(roots.read_bytes())
    users = env.get("SSL_CERT_FILE", "")
    if users and os.path.isfile(users) and Path(users) != roots:
        with contextlib.suppress(OSError):
            parts.append(Path(users).read_bytes())
    parts.append(ca.cert_pem)
    content = b"\n".join(part.rstrip(b"\n") + b"\n" for part in parts)
    bundle = ca.directory / BUNDLE_FILE
    if users:  # another user's file makes another bundle: concurrent runs must not fight over one
        bundle = ca.directory / f"trust-bundle-{hashlib.sha256(content).hexdigest()[:12]}.pem"
    try:
        current = bundle.read_bytes()
    except OSError:
        current = None
    if current != content:
        _write_public(bundle, content)
    return TrustFiles(bundle=bundle, ca_cert=ca.cert_path)


# --- files ------------------------------------------------------------------------------------------


def _now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(microsecond=0)


def _spki(public_key: CertificatePublicKeyTypes) -> bytes:
    return public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _private_dir(directory: Path) -> None:
    directory.mkdir(parents=True, exist_ok=True, mode=_DIR_MODE)
    os.chmod(directory, _DIR_MODE)


def _write_private(path: Path, data: bytes) -> None:
    """Write `data` to `path` created 0600 from the first byte (never readable by others, even briefly),
    replacing what was there atomically."""
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, _KEY_MODE)
    with os.fdopen(fd, "wb") as file:
        file.write(data)
    os.replace(temporary, path)


def _write_public(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}")
    temporary.write_bytes(data)
    os.replace(temporary, path)
