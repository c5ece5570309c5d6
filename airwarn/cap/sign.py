"""XML-DSig for CAP: airwarn signs every message so that receivers can tell it from a forgery.

The signature is enveloped in the `<alert>` as its last child, as CAP 1.2 (3.3.2.1) asks and
its schema allows (`<any namespace="http://www.w3.org/2000/09/xmldsig#">`): RSA-SHA256 over
SHA-256 digests, exclusive canonicalization, the signing certificate in `<KeyInfo>`.
Receivers check it against the certificate airwarn publishes, never against the one inside
the message, which anyone could replace together with the signature.
"""

from __future__ import annotations

import datetime as dt
import fcntl
import functools
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, DigestAlgorithm, SignatureMethod
from signxml.exceptions import InvalidInput, InvalidSignature
from signxml.signer import XMLSigner
from signxml.verifier import SignatureConfiguration, XMLVerifier

from airwarn.cap.build import to_bytes
from airwarn.errors import AirwarnError

KEY_FILE = "cap-signing-key.pem"
CERT_FILE = "cap-signing-cert.pem"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
CERT_DAYS = 3653  # about ten years
# The largest message `verify` will read; airwarn's own messages are far smaller.
MAX_BYTES = 10 * 1024 * 1024


class CapSignatureError(AirwarnError):
    """A CAP message's signature is missing, broken, or made with another key."""


@dataclass(frozen=True)
class SigningKeys:
    """The private key that signs and the certificate that receivers verify with (PEM)."""

    key_pem: bytes
    cert_pem: bytes


def generate_keypair(common_name: str) -> tuple[bytes, bytes]:
    """A new RSA 3072 key and a self-signed certificate for it, valid about ten years."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=3072)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=CERT_DAYS))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,
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
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return key_pem, cert.public_bytes(serialization.Encoding.PEM)


def load_or_create_keys(folder: Path, common_name: str = "airwarn CAP signing") -> SigningKeys:
    """The keys in `folder`, made there on first use (the private key readable by owner only)."""
    folder = Path(folder)
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    # processes started together (an engine, its standby, edges) must not both make a pair
    with os.fdopen(
        os.open(folder / ".lock", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600), "a"
    ) as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        return _load_or_create(folder, common_name)


def _load_or_create(folder: Path, common_name: str) -> SigningKeys:
    key_path, cert_path = folder / KEY_FILE, folder / CERT_FILE
    if key_path.exists() != cert_path.exists():
        present, missing = (key_path, cert_path) if key_path.exists() else (cert_path, key_path)
        raise CapSignatureError(
            f"{present} exists but {missing} does not; restore the missing file, or remove "
            "both to make a new pair (receivers must then fetch the new certificate)"
        )
    if not key_path.exists():
        key_pem, cert_pem = generate_keypair(common_name)
        # Create the key file with mode 0600 from the start: no moment where others may read.
        fd = os.open(key_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(key_pem)
        cert_path.write_bytes(cert_pem)
    keys = SigningKeys(key_pem=key_path.read_bytes(), cert_pem=cert_path.read_bytes())
    _check_pair(keys, key_path, cert_path)
    return keys


def sign(element: etree._Element, keys: SigningKeys) -> bytes:
    """`element` (a CAP `<alert>`) with an enveloped XML signature, as UTF-8 bytes.

    RSA PKCS#1 v1.5 is deterministic, so one message and one key always give the same bytes.
    `element` itself is left as it was.
    """
    signer = XMLSigner(
        signature_algorithm=SignatureMethod.RSA_SHA256,
        digest_algorithm=DigestAlgorithm.SHA256,
        c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
    )
    signed = signer.sign(
        _copy(element), key=_private_key(keys.key_pem), cert=keys.cert_pem.decode()
    )
    return to_bytes(signed)


@functools.lru_cache(maxsize=8)
def _private_key(key_pem: bytes) -> rsa.RSAPrivateKey:
    """The key, loaded once: loading checks the RSA key in full, which costs far more (about
    0.3 s for 3072 bits) than a signature does, and signing runs under the writer's lock."""
    key = serialization.load_pem_private_key(key_pem, password=None)
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CapSignatureError("the CAP signing key is not an RSA key")
    return key


def verify(data: bytes, cert_pem: bytes) -> etree._Element:
    """The signed `<alert>` of `data` if its signature was made with `cert_pem`'s key.

    Raises CapSignatureError when there is no signature, it does not match the content, or
    another key made it. Only what the signature covers is returned.
    """
    if len(data) > MAX_BYTES:
        raise CapSignatureError(
            f"the message is {len(data)} bytes, more than the {MAX_BYTES} this verifier reads"
        )
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False
    )
    try:
        root = etree.fromstring(data, parser)
    except etree.XMLSyntaxError as exc:
        raise CapSignatureError(f"the message is not well-formed XML: {exc}") from None
    signatures = root.findall(f"{{{DSIG_NS}}}Signature")
    if not signatures:
        raise CapSignatureError(
            "the message carries no XML signature (no ds:Signature element in the alert)"
        )
    if len(signatures) > 1:
        raise CapSignatureError(
            f"the message carries {len(signatures)} signatures; airwarn signs once"
        )
    try:
        result = XMLVerifier().verify(
            root, x509_cert=cert_pem.decode(), parser=parser, expect_config=_EXPECT
        )
    except InvalidSignature as exc:
        raise CapSignatureError(
            f"the signature does not verify with the published certificate: {exc}"
        ) from None
    except InvalidInput as exc:
        raise CapSignatureError(f"the signature cannot be checked: {exc}") from None
    signed = result.signed_xml if not isinstance(result, list) else result[0].signed_xml
    if signed is None:
        raise CapSignatureError("the signature covers nothing")
    return signed


# -- inside ---------------------------------------------------------------------------------


def _copy(element: etree._Element) -> etree._Element:
    # Re-parse rather than deepcopy so the signed tree has a clean namespace layout.
    return etree.fromstring(etree.tostring(element))


def _check_pair(keys: SigningKeys, key_path: Path, cert_path: Path) -> None:
    try:
        key = serialization.load_pem_private_key(keys.key_pem, password=None)
        cert = x509.load_pem_x509_certificate(keys.cert_pem)
    except ValueError as exc:
        raise CapSignatureError(
            f"{key_path} or {cert_path} is not a PEM key and certificate: {exc}"
        ) from None
    if not isinstance(key, rsa.RSAPrivateKey):
        raise CapSignatureError(
            f"{key_path} holds a {type(key).__name__}; airwarn signs CAP with RSA (RSA-SHA256)"
        )
    cert_key = cert.public_key()
    if not isinstance(cert_key, rsa.RSAPublicKey) or (
        cert_key.public_numbers() != key.public_key().public_numbers()
    ):
        raise CapSignatureError(f"the certificate {cert_path} is not for the key {key_path}")


def _expect() -> SignatureConfiguration:
    return SignatureConfiguration(
        require_x509=True,
        location="./",  # the signature is a child of <alert>, not buried deeper
        expect_references=1,
        signature_methods=frozenset({SignatureMethod.RSA_SHA256}),
        digest_algorithms=frozenset({DigestAlgorithm.SHA256}),
    )


_EXPECT = _expect()
