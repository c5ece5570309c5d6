"""Is an inbound CAP message signed by its sender? The verdict that decides whether it may be
applied at once.

A message is *verified* when it carries an enveloped XML signature over the whole `<alert>`
that one of the certificates trusted for its `<sender>` verifies (signxml; SHA-2 or SHA-3
digests and signatures, RSA or ECDSA; SHA-1 is refused, as signxml refuses it). The signature
is checked against the certificates in airwarn's trust store, never against one the message
carries: anyone can sign with a certificate of their own making. Only what the signature
covers is read afterwards, so nothing can be slipped in beside a real signature.

A relay may add its own signature beside the originator's (Canada's NAADS does): each
signature is checked on the message without the others, and one by a trusted certificate of
the sender is enough.

Everything else is *unsigned* or *untrusted*, with the reason in words.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree
from signxml.algorithms import SignatureMethod
from signxml.exceptions import InvalidInput, InvalidSignature
from signxml.verifier import SignatureConfiguration, XMLVerifier

from airwarn.cap.inbound import CAP11_NS, CAP12_NS

DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"
MAX_SIGNATURES = 4  # an originator and a few relays; more is not a CAP message's shape

_HMAC = {
    SignatureMethod.HMAC_SHA224,
    SignatureMethod.HMAC_SHA256,
    SignatureMethod.HMAC_SHA384,
    SignatureMethod.HMAC_SHA512,
}
EXPECT = SignatureConfiguration(
    require_x509=True,
    location="./",  # a child of <alert>, over the whole alert
    expect_references=1,
    signature_methods=SignatureConfiguration().signature_methods - _HMAC,
)


@dataclass(frozen=True)
class Verdict:
    """How far an inbound message is trusted, and why."""

    trust: str  # verified | unsigned | untrusted
    why: str | None = None
    fingerprint: str | None = None  # the trusted certificate that verified it
    signed: bytes | None = None  # the signed <alert>, when verified: read this, not the rest

    @property
    def verified(self) -> bool:
        return self.trust == "verified"


def judge(body: bytes, sender: str, keys: Sequence[tuple[str, bytes]]) -> Verdict:
    """The verdict on `body`, a CAP message naming `sender`, given the certificates trusted
    for that sender as (fingerprint, PEM)."""
    add = f"`airwarn trust add {sender} --key CERT.pem`"
    parser = etree.XMLParser(
        resolve_entities=False, no_network=True, huge_tree=False, load_dtd=False
    )
    try:
        root = etree.fromstring(body, parser)
    except etree.XMLSyntaxError as exc:
        return Verdict("untrusted", f"the message cannot be read for its signature: {exc}")
    signatures = root.findall(f"{{{DSIG_NS}}}Signature")
    if not signatures:
        return Verdict(
            "unsigned",
            "the message carries no XML signature, so nothing shows "
            f"that {sender} sent it. Ask the sender to sign its CAP, and trust its "
            f"certificate with {add}",
        )
    if not keys:
        return Verdict(
            "untrusted",
            f"it is signed, but no certificate is trusted for {sender}"
            f"; if the sender is who it says, trust its certificate with {add}",
        )
    if len(signatures) > MAX_SIGNATURES:
        return Verdict(
            "untrusted",
            f"it carries {len(signatures)} signatures; airwarn reads "
            f"at most {MAX_SIGNATURES} (an originator's and its relays')",
        )
    reasons: list[str] = []
    for index in range(len(signatures)):
        alone = _with_only_signature(root, index, parser)
        for fingerprint, certificate in keys:
            try:
                result = XMLVerifier().verify(
                    alone, x509_cert=certificate.decode(), parser=parser, expect_config=EXPECT
                )
            except InvalidSignature as exc:
                reasons.append(
                    f"signature {index + 1} does not verify with {fingerprint}: "
                    "another key made it, or the message was changed after "
                    f"signing ({_short(exc)})"
                )
                continue
            except (InvalidInput, etree.LxmlError, ValueError) as exc:
                # a signature airwarn will not accept: SHA-1, an expired certificate, a
                # Signature that breaks the XML-DSig schema
                reasons.append(
                    f"signature {index + 1} cannot be checked with {fingerprint}: {_short(exc)}"
                )
                continue
            signed = result.signed_xml if not isinstance(result, list) else None
            if signed is None or not _is_alert(signed):
                reasons.append(f"signature {index + 1} does not cover the whole alert")
                continue
            return Verdict("verified", None, fingerprint, etree.tostring(signed))
    count = f"{len(keys)} certificate{'s' if len(keys) > 1 else ''}"
    return Verdict(
        "untrusted",
        f"the signature does not verify with the {count} trusted for "
        f"{sender}: " + "; ".join(dict.fromkeys(reasons)),
    )


def _with_only_signature(
    root: etree._Element, index: int, parser: etree.XMLParser
) -> etree._Element:
    """A copy of the message with every signature but the `index`th removed."""
    copy = etree.fromstring(etree.tostring(root), parser)
    for position, signature in enumerate(copy.findall(f"{{{DSIG_NS}}}Signature")):
        if position != index:
            copy.remove(signature)
    return copy


def _is_alert(element: etree._Element) -> bool:
    return element.tag in (f"{{{CAP12_NS}}}alert", f"{{{CAP11_NS}}}alert")


def _short(exc: Exception) -> str:
    text = " ".join(str(exc).split())
    return text if len(text) <= 300 else text[:297] + "..."
