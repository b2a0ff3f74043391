"""
alpnlab: TLS peers for the acme-tls-alpn-01 suite that pebble-challtestsrv cannot play:
certificates with chosen SANs and acmeIdentifier encodings (python3-cryptography), a
threaded TLS server that picks the certificate and the ALPN behaviour by SNI and records the
SNI names it saw, and a TCP server that accepts and never answers (a stalled handshake).
"""
import datetime
import hashlib
import ipaddress
import os
import socket
import ssl
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID, ObjectIdentifier

ACME_OID = ObjectIdentifier("1.3.6.1.5.5.7.1.31")
ALPN = "acme-tls/1"


def key_authorization_hash(key_authorization):
    """Hex SHA-256 of the key authorization: the API's key_authorization_hash."""
    return hashlib.sha256(key_authorization.encode()).hexdigest()


def octet_string(value):
    """DER OCTET STRING (short length form) holding value."""
    assert len(value) < 128
    return b"\x04" + bytes([len(value)]) + value


def padding_cert(nbytes):
    """PEM of a throwaway certificate whose DER is at least nbytes long (many SAN names)."""
    key = ec.generate_private_key(ec.SECP256R1())
    count = nbytes // 60 + 1
    names = [x509.DNSName(f"{i:05d}-" + "p" * 48 + ".pad.test") for i in range(count)]
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(x509.Name([])).issuer_name(x509.Name([]))
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=1))
            .add_extension(x509.SubjectAlternativeName(names), critical=False)
            .sign(key, hashes.SHA256()))
    return cert.public_bytes(serialization.Encoding.PEM)


def make_cert(sans, acme_value, critical=True, cn=None, issuer_cn=None, with_acme=True):
    """
    A certificate (PEM bytes) and its key (PEM bytes). sans: names or IP literals for the SAN
    (empty: no SAN extension). acme_value: the raw extnValue of id-pe-acmeIdentifier.
    issuer_cn set: issued by (and signed with the key of) another party, so not self-signed.
    """
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)] if cn else [])
    signer = key
    issuer = subject
    if issuer_cn is not None:
        signer = ec.generate_private_key(ec.SECP256R1())
        issuer = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer_cn)])
    now = datetime.datetime.now(datetime.timezone.utc)
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(hours=1))
         .not_valid_after(now + datetime.timedelta(days=1)))
    if sans:
        names = []
        for s in sans:
            try:
                names.append(x509.IPAddress(ipaddress.ip_address(s)))
            except ValueError:
                names.append(x509.DNSName(s))
        b = b.add_extension(x509.SubjectAlternativeName(names), critical=False)
    if with_acme:
        b = b.add_extension(x509.UnrecognizedExtension(ACME_OID, acme_value), critical=critical)
    cert = b.sign(signer, hashes.SHA256())
    key_pem = key.private_bytes(serialization.Encoding.PEM,
                                serialization.PrivateFormat.TraditionalOpenSSL,
                                serialization.NoEncryption())
    return cert.public_bytes(serialization.Encoding.PEM), key_pem


class AlpnServer:
    """
    A TLS server on host:port. add(sni, cert_pem, key_pem, alpn) makes connections with that
    SNI get that certificate and ALPN list (None: no ALPN support); other SNI names get an
    unrecognized_name alert. `sni_seen` lists every SNI name received, in order. base_tweak(ctx)
    adjusts the context every handshake starts with (protocol versions are taken from it).
    """

    def __init__(self, host, port, workdir, name="alpn-server", base_tweak=None):
        self.host = host
        self.port = port
        self.dir = os.path.join(workdir, f"{name}-{host}-{port}")
        os.makedirs(self.dir, exist_ok=True)
        self.contexts = {}
        self.sni_seen = []
        self.handshakes = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self.base = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        self.base.sni_callback = self._sni
        if base_tweak is not None:  # versions are fixed before the SNI callback switches
            base_tweak(self.base)
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.sock = socket.socket(family, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def add(self, sni, cert_pem, key_pem, alpn=(ALPN,), tweak=None):
        """tweak(ctx), if given, adjusts the server context (e.g. its TLS versions)."""
        n = len(self.contexts)
        cert_path = os.path.join(self.dir, f"c{n}.pem")
        key_path = os.path.join(self.dir, f"k{n}.pem")
        with open(cert_path, "wb") as f:
            f.write(cert_pem)
        with open(key_path, "wb") as f:
            f.write(key_pem)
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(cert_path, key_path)
        if alpn:
            ctx.set_alpn_protocols(list(alpn))
        if tweak is not None:
            tweak(ctx)
        with self._lock:
            self.contexts[sni] = ctx

    def _sni(self, sslobj, server_name, _ctx):
        """Called by the ssl module during the handshake: picks the context by SNI."""
        with self._lock:
            self.sni_seen.append(server_name)
            ctx = self.contexts.get(server_name)
        if ctx is None:
            return ssl.ALERT_DESCRIPTION_UNRECOGNIZED_NAME
        sslobj.context = ctx
        return None

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        conn.settimeout(10.0)
        try:
            tls = self.base.wrap_socket(conn, server_side=True)
            with self._lock:
                self.handshakes += 1
            tls.close()
        except (OSError, ssl.SSLError):
            conn.close()

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self._stop.set()
        self.thread.join(5.0)
        self.sock.close()


class StallServer:
    """Accepts TCP connections on host:port and never sends a byte (until stopped)."""

    def __init__(self, host, port):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.conns = []
        self.accepted = threading.Event()
        self._stop = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            self.conns.append(conn)
            self.accepted.set()

    def start(self):
        self.thread.start()
        return self

    def stop(self):
        self._stop.set()
        self.thread.join(5.0)
        for c in self.conns:
            c.close()
        self.sock.close()
