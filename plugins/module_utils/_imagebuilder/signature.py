# -*- coding: utf-8 -*-
# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""PRIVATE: VIB signature verification. Breaking changes at any time.

What is signed
--------------
- A ``.vib`` carries ``sig.pkcs7``: a PKCS#7/CMS ``SignedData`` (PEM ``-----BEGIN PKCS7-----`` or DER) with a
  *detached* signature over the ``descriptor.xml`` member, byte for byte. A 0-byte ``sig.pkcs7`` means unsigned.
- A host's installed-VIB database (``/var/db/esximg/vibs/X.xml``) keeps ``X.xml.orig`` (the descriptor as signed)
  and ``X.xml.sig`` (the PEM signature over ``.orig``).

This is what ``openssl smime -verify -inform PEM -in sig.pkcs7 -content descriptor.xml -CAfile <certs>
-purpose any`` checks, done with ``asn1crypto`` (ASN.1 parsing) and ``cryptography`` (digests, RSA/ECDSA
verification, certificate signatures): for every SignerInfo, the ``messageDigest`` signed attribute equals the
digest of the content, the signature over the DER ``SET OF`` signed attributes verifies with the signer's key,
and the signer's certificate chains (certificates in the signature + the trust store) to a trust-store anchor,
each link checked with ``Certificate.verify_directly_issued_by``; intermediates must be CAs (anchors are trusted
as configured). A certificate is an anchor when a trust-store certificate has its subject and public key.
Certificates listed in a trust-store CRL (signed by the certificate's issuer) are refused.

Certificate expiry (``expiry`` option)
--------------------------------------
VMware's 2008 signing certificate expired on 2019-12-31 and the 2019 "Accepted VIB Signing" certificate on
2022-04-15, while images signed with them are still installed and shipped. ESXi itself does not reject them.
So the default, ``signing_time``, verifies the chain at the moment of signing: when the signature carries a
``signingTime`` signed attribute (every VMware signature seen does), each certificate of the chain must have
been valid then (and the signing time must not lie in the future); without one, validity dates are not
checked (``openssl -no_check_time``). A signature that verifies but whose chain has expired *since* is
``valid`` with ``expired=True`` (``_validate`` reports an ``expired_signer`` info finding).
``now`` requires every certificate to be valid today (strict; old VMware VIBs fail). ``ignore`` never checks
dates. The signing time is asserted by the signer, so it cannot extend trust beyond the holders of trusted keys.

Library functions raise ``InputError`` for an unusable trust store; a bad signature is a *result*
(``status="invalid"`` with a reason), never an exception.
"""

from __future__ import annotations

import datetime
import traceback
from dataclasses import dataclass, field
from typing import Any, Iterable, List, Optional, Tuple, Dict

from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError


try:
    from asn1crypto import cms as _cms
    from asn1crypto import pem as _pem
    HAS_ASN1CRYPTO = True
    ASN1CRYPTO_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - depends on the controller
    HAS_ASN1CRYPTO = False
    ASN1CRYPTO_IMPORT_ERROR = traceback.format_exc()

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, padding, rsa
    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError:  # pragma: no cover - depends on the controller
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = traceback.format_exc()

EXPIRY_MODES = ("signing_time", "now", "ignore")
VALID = "valid"
UNSIGNED = "unsigned"
INVALID = "invalid"
_MAX_CHAIN = 8
_FUTURE_SLACK = datetime.timedelta(days=1)


def require_libraries() -> None:
    """Raise ``InputError`` naming the missing Python package(s) needed to verify signatures."""
    missing = []
    if not HAS_ASN1CRYPTO:
        missing.append("asn1crypto")
    if not HAS_CRYPTOGRAPHY:
        missing.append("cryptography")
    if missing:
        raise InputError("verify_signatures needs the Python package(s) %s on the controller "
                         "(pip install %s)" % (", ".join(missing), " ".join(missing)),
                         missing_libraries=missing)


def _hash_for(name: str) -> Any:
    table: Dict[str, Any] = {"sha1": hashes.SHA1, "sha224": hashes.SHA224, "sha256": hashes.SHA256, "sha384": hashes.SHA384,
                             "sha512": hashes.SHA512}
    cls = table.get(name)
    return cls() if cls else None


def _utc(dt: Optional[datetime.datetime]) -> Optional[datetime.datetime]:
    if dt is None:
        return None
    if dt.tzinfo is None:
        return dt.replace(tzinfo=datetime.timezone.utc)
    return dt.astimezone(datetime.timezone.utc)


def _cert_time(value: datetime.datetime) -> datetime.datetime:
    if value.tzinfo is None:
        return value.replace(tzinfo=datetime.timezone.utc)
    return value.astimezone(datetime.timezone.utc)


def _not_before(cert: Any) -> datetime.datetime:
    return _cert_time(getattr(cert, "not_valid_before_utc", None) or cert.not_valid_before)


def _not_after(cert: Any) -> datetime.datetime:
    return _cert_time(getattr(cert, "not_valid_after_utc", None) or cert.not_valid_after)


def _spki(cert: Any) -> bytes:
    return cert.public_key().public_bytes(serialization.Encoding.DER,
                                          serialization.PublicFormat.SubjectPublicKeyInfo)


def _subject(cert: Any) -> str:
    try:
        return cert.subject.rfc4514_string()
    except Exception:  # pragma: no cover - exotic names
        return str(cert.subject)


# ---- trust store ----------------------------------------------------------------------------------------
class TrustStore(object):
    """Trust anchors (certificates) and CRLs, read from PEM (or DER) files."""

    def __init__(self, certificates: Iterable[Any] = (), crls: Iterable[Any] = (), sources: Iterable[str] = ()) -> None:
        self.certificates = list(certificates)
        self.crls = list(crls)
        self.sources = list(sources)
        self._anchor_keys = {(c.subject.public_bytes(), _spki(c)) for c in self.certificates}

    @classmethod
    def from_blobs(cls, blobs: Iterable[Tuple[str, bytes]]) -> "TrustStore":
        """A trust store from ``(label, content)`` pairs (the caller reads the files: ``_depot.validation``);
        each must hold at least one certificate or CRL.

        ``InputError`` names the file for one without a usable certificate."""
        require_libraries()
        certs: List[Any] = []
        crls: List[Any] = []
        sources: List[str] = []
        for label, data in blobs:
            found_c, found_r = _load_pem_or_der(data, label)
            if not found_c and not found_r:
                raise InputError("trust_store: %s holds no PEM/DER certificate or CRL" % label, source=label)
            certs.extend(found_c)
            crls.extend(found_r)
            sources.append(label)
        if not certs:
            raise InputError("trust_store: no trusted certificate given (list PEM certificate files, e.g. "
                             "VMware's vmware.cert and vmpartner.cert from /usr/share/certs on an ESXi host)")
        return cls(certs, crls, sources)

    def is_anchor(self, cert: Any) -> bool:
        return (cert.subject.public_bytes(), _spki(cert)) in self._anchor_keys

    def to_dict(self) -> Dict[str, Any]:
        return {"sources": list(self.sources), "certificates": [_subject(c) for c in self.certificates],
                "crls": len(self.crls)}


def _load_pem_or_der(data: bytes, path: str) -> Tuple[List[Any], List[Any]]:
    certs = []
    crls = []
    if b"-----BEGIN" in data:
        if not HAS_ASN1CRYPTO:  # pragma: no cover
            require_libraries()
        try:
            blocks = list(_pem.unarmor(data, multiple=True))
        except ValueError as e:
            raise InputError("trust_store: %s is not valid PEM: %s" % (path, e), source=path)
        for name, _headers, der in blocks:
            try:
                if name in ("CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"):
                    certs.append(x509.load_der_x509_certificate(der))
                elif name == "X509 CRL":
                    crls.append(x509.load_der_x509_crl(der))
            except ValueError as e:
                raise InputError("trust_store: %s: unreadable %s block: %s" % (path, name.lower(), e),
                                 source=path)
        return certs, crls
    loaders: List[Tuple[Any, List[Any]]] = [(x509.load_der_x509_certificate, certs), (x509.load_der_x509_crl, crls)]
    for loader, out in loaders:
        try:
            out.append(loader(data))
            break
        except ValueError:
            continue
    return certs, crls


# ---- result ---------------------------------------------------------------------------------------------
@dataclass
class SignatureResult:
    """``status``: valid | unsigned | invalid. ``reason`` says why it is invalid. ``expired``: the chain verified
    (at signing time or without dates) but a certificate of it has expired since."""
    status: str
    reason: str = ""
    signer: Optional[str] = None
    signing_time: Optional[str] = None
    chain: List[str] = field(default_factory=list)
    expired: bool = False
    expired_certificates: List[str] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return self.status == VALID

    def to_dict(self) -> Dict[str, Any]:
        return {"status": self.status, "reason": self.reason, "signer": self.signer,
                "signing_time": self.signing_time, "chain": list(self.chain), "expired": self.expired,
                "expired_certificates": list(self.expired_certificates)}


class _Bad(Exception):
    pass


def _decode(signature: bytes) -> bytes:
    data = signature.strip() if isinstance(signature, bytes) else signature
    if data.startswith(b"-----BEGIN"):
        try:
            name, _h, der = _pem.unarmor(data)
        except ValueError as e:
            raise _Bad("signature is not valid PEM: %s" % e)
        if name not in ("PKCS7", "CMS", "PKCS #7 SIGNED DATA"):
            raise _Bad("signature PEM block is %r, not PKCS7" % name)
        return der
    return signature


def verify_detached(signature: bytes, content: bytes, trust: TrustStore, expiry: str = "signing_time",
                    now: Optional[datetime.datetime] = None) -> SignatureResult:
    """Verify a detached PKCS#7 ``signature`` (bytes, PEM or DER) over ``content`` (bytes) against ``trust``
    (a ``TrustStore``). Returns a ``SignatureResult``; ``status="unsigned"`` for an empty signature."""
    require_libraries()
    if expiry not in EXPIRY_MODES:
        raise InputError("signature expiry mode %r unknown (use %s)" % (expiry, ", ".join(EXPIRY_MODES)))
    if signature is None or not signature.strip():
        return SignatureResult(UNSIGNED, "no signature (empty sig.pkcs7)")
    now = _utc(now) or datetime.datetime.now(datetime.timezone.utc)
    try:
        return _verify(signature, content, trust, expiry, now)
    except _Bad as e:
        return SignatureResult(INVALID, str(e))
    except (ValueError, TypeError, KeyError, IndexError, UnsupportedAlgorithm) as e:
        # asn1crypto parses lazily: malformed DER surfaces here
        return SignatureResult(INVALID, "malformed PKCS#7 signature: %s" % (str(e) or e.__class__.__name__))


def _verify(signature: bytes, content: bytes, trust: TrustStore, expiry: str,
            now: datetime.datetime) -> SignatureResult:
    der = _decode(signature)
    ci = _cms.ContentInfo.load(der, strict=False)
    if ci["content_type"].native != "signed_data":
        raise _Bad("PKCS#7 content type is %s, not signedData" % ci["content_type"].native)
    sd = ci["content"]
    embedded = sd["encap_content_info"]["content"]
    if embedded.native is not None:
        # attached signature: the signed bytes are inside; they must be the content we were given
        inner = embedded.native if isinstance(embedded.native, bytes) else embedded.contents
        if inner != content:
            raise _Bad("the signature embeds other content than the descriptor")
    certs = []
    for choice in sd["certificates"] or ():
        if choice.name == "certificate":
            certs.append(x509.load_der_x509_certificate(choice.chosen.dump()))
    signer_infos = list(sd["signer_infos"] or ())
    if not signer_infos:
        raise _Bad("PKCS#7 structure has no signer")
    results = [_verify_signer(si, content, certs, trust, expiry, now) for si in signer_infos]
    return results[0]     # every signer must verify (each raises otherwise); the first one is reported


def _find_signer_cert(si: Any, certs: List[Any], trust: TrustStore) -> Any:
    sid = si["sid"]
    pool = certs + list(trust.certificates)
    if sid.name == "issuer_and_serial_number":
        issuer = sid.chosen["issuer"].dump()
        serial = sid.chosen["serial_number"].native
        same_serial = [c for c in pool if c.serial_number == serial]
        for c in same_serial:
            if c.issuer.public_bytes() == issuer:
                return c
        # an issuer name re-encoded differently (string types): fall back to the serial when it is unique
        if len({cc.fingerprint(hashes.SHA256()) for cc in same_serial}) == 1:
            return same_serial[0]
    elif sid.name == "subject_key_identifier":
        ski = sid.chosen.native
        for c in pool:
            try:
                ext = c.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
            except x509.ExtensionNotFound:
                continue
            if ext.value.digest == ski:
                return c
    raise _Bad("the signer's certificate is not in the signature nor in the trust store")


def _verify_signer(si: Any, content: bytes, certs: List[Any], trust: TrustStore, expiry: str,
                   now: datetime.datetime) -> SignatureResult:
    digest_name = si["digest_algorithm"]["algorithm"].native
    halg = _hash_for(digest_name)
    if halg is None:
        raise _Bad("unsupported digest algorithm %s" % digest_name)
    h = hashes.Hash(halg)
    h.update(content)
    digest = h.finalize()
    signing_time = None
    attrs = si["signed_attrs"]
    if attrs is not None and len(attrs):
        md = None
        ctype = None
        for attr in attrs:
            kind = attr["type"].native
            values = attr["values"]
            if kind == "message_digest":
                md = values[0].native
            elif kind == "content_type":
                ctype = values[0].native
            elif kind == "signing_time":
                signing_time = _utc(values[0].native)
        if md is None:
            raise _Bad("signed attributes lack messageDigest")
        if ctype not in (None, "data"):
            raise _Bad("signed content type is %s, not data" % ctype)
        if md != digest:
            raise _Bad("content digest mismatch: the descriptor was changed after signing")
        signed = b"\x31" + attrs.dump()[1:]   # DER SET OF, as signed (RFC 5652 5.4)
    else:
        signed = content
    cert = _find_signer_cert(si, certs, trust)
    _check_signature(cert, si, signed, halg)
    chain = _build_chain(cert, certs, trust)
    expired = [c for c in chain if _not_after(c) < now]
    if expiry == "now":
        for c in chain:
            if not (_not_before(c) <= now <= _not_after(c)):
                raise _Bad("certificate %s is not valid now (valid %s to %s)"
                           % (_subject(c), _not_before(c).date(), _not_after(c).date()))
    elif expiry == "signing_time" and signing_time is not None:
        if signing_time > now + _FUTURE_SLACK:
            raise _Bad("signing time %s lies in the future" % signing_time.isoformat())
        for c in chain:
            if not (_not_before(c) <= signing_time <= _not_after(c)):
                raise _Bad("certificate %s was not valid at signing time %s (valid %s to %s)"
                           % (_subject(c), signing_time.isoformat(), _not_before(c).date(),
                              _not_after(c).date()))
    _check_revocation(chain, trust)
    return SignatureResult(VALID, "", _subject(cert), signing_time.isoformat() if signing_time else None,
                           [_subject(c) for c in chain], bool(expired),
                           ["%s (expired %s)" % (_subject(c), _not_after(c).date()) for c in expired])


def _check_signature(cert: Any, si: Any, signed: bytes, halg: Any) -> None:
    sig = si["signature"].native
    algo = si["signature_algorithm"]
    kind = algo.signature_algo
    try:
        hash_name = algo.hash_algo
    except ValueError:
        hash_name = None
    if hash_name and kind != "rsassa_pss":
        halg = _hash_for(hash_name) or halg
    key = cert.public_key()
    try:
        if kind == "rsassa_pkcs1v15" and isinstance(key, rsa.RSAPublicKey):
            key.verify(sig, signed, padding.PKCS1v15(), halg)
        elif kind == "rsassa_pss" and isinstance(key, rsa.RSAPublicKey):
            params = algo["parameters"]
            phash = _hash_for(params["hash_algorithm"]["algorithm"].native) or halg
            mgf_hash = _hash_for(params["mask_gen_algorithm"]["parameters"]["algorithm"].native) or phash
            key.verify(sig, signed, padding.PSS(padding.MGF1(mgf_hash), params["salt_length"].native), phash)
        elif kind == "ecdsa" and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(sig, signed, ec.ECDSA(halg))
        else:
            raise _Bad("unsupported signature algorithm %s for a %s key" % (kind, type(key).__name__))
    except InvalidSignature:
        raise _Bad("signature does not verify with the signer's key (%s)" % _subject(cert))


def _is_ca(cert: Any) -> bool:
    try:
        return bool(cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca)
    except x509.ExtensionNotFound:
        return False


def _build_chain(cert: Any, certs: List[Any], trust: TrustStore) -> List[Any]:
    """[signer, ..., anchor] or ``_Bad``."""
    chain = [cert]
    current = cert
    pool = list(trust.certificates) + certs
    for _depth in range(_MAX_CHAIN):
        if trust.is_anchor(current):
            return chain
        issuer_name = current.issuer.public_bytes()
        found = None
        for cand in pool:
            if cand.subject.public_bytes() != issuer_name or cand is current:
                continue
            if any(cand.fingerprint(hashes.SHA256()) == c.fingerprint(hashes.SHA256()) for c in chain):
                continue
            try:
                current.verify_directly_issued_by(cand)
            except (ValueError, TypeError, InvalidSignature, UnsupportedAlgorithm):
                continue
            if not trust.is_anchor(cand) and not _is_ca(cand):
                continue
            found = cand
            break
        if found is None:
            if current.issuer == current.subject:
                raise _Bad("signer chain ends at %s, which is not in the trust store" % _subject(current))
            raise _Bad("no trusted issuer %s for %s" % (current.issuer.rfc4514_string(), _subject(current)))
        chain.append(found)
        current = found
    raise _Bad("certificate chain longer than %d" % _MAX_CHAIN)


def _check_revocation(chain: List[Any], trust: TrustStore) -> None:
    if not trust.crls:
        return
    for i, c in enumerate(chain):
        issuer = chain[i + 1] if i + 1 < len(chain) else c
        for crl in trust.crls:
            if crl.issuer != c.issuer:
                continue
            try:
                if not crl.is_signature_valid(issuer.public_key()):
                    continue
            except (TypeError, ValueError, UnsupportedAlgorithm):
                continue
            if crl.get_revoked_certificate_by_serial_number(c.serial_number) is not None:
                raise _Bad("certificate %s (serial %x) is revoked by a CRL of %s"
                           % (_subject(c), c.serial_number, crl.issuer.rfc4514_string()))


# ---- convenience ----------------------------------------------------------------------------------------
def verify_vib_archive(archive: Any, trust: TrustStore, expiry: str = "signing_time",
                       now: Optional[datetime.datetime] = None) -> SignatureResult:
    """Verify ``archive`` (a ``_vib_archive.VibArchive``): ``sig.pkcs7`` over ``descriptor.xml``."""
    return verify_detached(archive.signature_bytes, archive.descriptor_bytes, trust, expiry, now)


def verify_host_record(label: str, signature: Optional[bytes], original: Optional[bytes], trust: "TrustStore",
                       expiry: str = "signing_time", now: Optional[datetime.datetime] = None
                       ) -> Optional["SignatureResult"]:
    """Verify an installed-VIB record ``label`` (``X.xml``): the bytes of ``X.xml.sig`` (``signature``) over those
    of ``X.xml.orig`` (``original``); the caller reads them (``_depot.validation.read_host_record``). None when
    the record has no ``.sig`` (nothing to verify); ``unsigned`` when the ``.sig`` is empty; ``invalid`` when
    ``.orig`` is missing."""
    if signature is None:
        return None
    if original is None:
        return SignatureResult(INVALID, "%s has a signature but no %s.orig (the signed descriptor)"
                               % (label, label))
    return verify_detached(signature, original, trust, expiry, now)
