"""
A throw-away PKI for the HTTPS listener tests: CAs, a server certificate for 127.0.0.1 and
client certificates, written as PEM files (private keys mode 0600), plus client SSL contexts.
"""
import datetime
import ipaddress
import os
import ssl

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _write(path, data, mode):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.chmod(path, mode)  # umask-independent
    return path


class Issued:
    """A key and certificate; .cert_path / .key_path once written."""

    def __init__(self, key, cert):
        self.key = key
        self.cert = cert
        self.cert_path = None
        self.key_path = None

    def write(self, directory, stem, key_mode=0o600, chain=()):
        pem = self.cert.public_bytes(serialization.Encoding.PEM)
        for extra in chain:
            pem += extra.cert.public_bytes(serialization.Encoding.PEM)
        self.cert_path = _write(os.path.join(directory, f"{stem}.crt"), pem, 0o644)
        self.key_path = _write(os.path.join(directory, f"{stem}.key"), self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption()), key_mode)
        return self


def _build(subject_cn, issuer, key, is_ca, sans=None, eku=None):
    now = datetime.datetime.now(datetime.timezone.utc)
    issuer_name = _name(subject_cn) if issuer is None else issuer.cert.subject
    signer = key if issuer is None else issuer.key
    b = (x509.CertificateBuilder().subject_name(_name(subject_cn)).issuer_name(issuer_name)
         .public_key(key.public_key()).serial_number(x509.random_serial_number())
         .not_valid_before(now - datetime.timedelta(hours=1))
         .not_valid_after(now + datetime.timedelta(days=2))
         .add_extension(x509.BasicConstraints(ca=is_ca, path_length=None), critical=True))
    if is_ca:
        b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False,
                                          False), critical=True)
    if sans:
        b = b.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    if eku:
        b = b.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    return Issued(key, b.sign(signer, hashes.SHA256()))


def make_ca(cn):
    return _build(cn, None, ec.generate_private_key(ec.SECP256R1()), True)


def make_server(ca, ip="127.0.0.1"):
    return _build(ip, ca, ec.generate_private_key(ec.SECP256R1()), False,
                  sans=[x509.IPAddress(ipaddress.ip_address(ip))],
                  eku=[ExtendedKeyUsageOID.SERVER_AUTH])


def make_client(ca, cn):
    return _build(cn, ca, ec.generate_private_key(ec.SECP256R1()), False,
                  eku=[ExtendedKeyUsageOID.CLIENT_AUTH])


def client_context(server_ca, client=None, max_version=None, min_version=None):
    """A verifying client context trusting server_ca, presenting client (Issued) if given."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.load_verify_locations(server_ca.cert_path)
    if client is not None:
        ctx.load_cert_chain(client.cert_path, client.key_path)
    if min_version is not None or max_version is not None:
        ctx.set_ciphers("DEFAULT:@SECLEVEL=0")  # let this client offer old versions at all
        ctx.minimum_version = min_version or ssl.TLSVersion.MINIMUM_SUPPORTED
        ctx.maximum_version = max_version or ssl.TLSVersion.MAXIMUM_SUPPORTED
    return ctx
