# Copyright: (c) 2026, fleetpatch.esxi contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""_signature: every real signed VIB and host record verifies against VMware's certificates; tampering,
unsigned VIBs, untrusted chains, expiry modes, CRLs and bad trust stores are told apart."""

from __future__ import annotations

import datetime
import glob
import os

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.hazmat.primitives.serialization import pkcs7
from cryptography.x509.oid import NameOID

from ansible_collections.fleetpatch.esxi.plugins.module_utils._imagebuilder import signature as S
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot import validation as VIO
from ansible_collections.fleetpatch.esxi.plugins.module_utils._common.errors import InputError
from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.vib_archive import VibArchive

from tests.unit.validate.validate_helpers import CRL, ESXIMG, TRUST, WATCHDOG_VIB, extract_vib, real_bundles

SIGNED_BUNDLES = [z for z in real_bundles() if "VMKUSB" in z or "community-driver" in z or "Community-Driver" in z
                  or "Re-Driver" in z or "nvmupdate" in z]


def _flip_descriptor_byte(desc):
    # change one letter of the summary text: still well-formed XML, one byte different
    i = desc.index(b"<summary>") + len(b"<summary>")
    return desc[:i] + bytes([desc[i] ^ 0x01]) + desc[i + 1:]


# ---- real data -------------------------------------------------------------------------------------------------
def test_all_136_host_records_verify_at_signing_time(trust):
    records = [p for p in glob.glob(os.path.join(ESXIMG, "vibs", "*")) if os.path.exists(p + ".sig")]
    assert len(records) == 136
    for rec in records:
        r = VIO.verify_host_record(rec, trust)
        assert r.status == "valid", (rec, r.reason)
        # signed 2018 with the 2008 VMware certificate that expired on 2019-12-31
        assert r.expired and r.signing_time.startswith("2018-")
        assert "Palo Alto" in r.signer


def _signed_archives(depot):
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import open_vib
    out = {}
    for vid, ref in sorted(depot.vib_files.items()):
        arch = open_vib(ref)
        if arch.signature_bytes:
            out[vid] = arch
    return out


def test_every_signed_vib_in_the_fixtures_verifies(bundles_depot, trust):
    signed = _signed_archives(bundles_depot)
    # SOURCES.md: the VMware-built VIBs are signed (6.5/6.7 flings, 7/8/9 flings and drivers, Intel nvmupdate)
    assert len(signed) == 15
    anchors = [S._subject(c) for c in trust.certificates]
    for vid, arch in signed.items():
        r = S.verify_vib_archive(arch, trust)
        assert r.status == "valid", (vid, r.reason)
        assert r.chain[-1] in anchors
        assert r.signing_time is not None


def test_every_unsigned_vib_in_the_fixtures_is_community(bundles_depot, trust):
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._depot.sources import open_vib
    unsigned = [vid for vid, ref in bundles_depot.vib_files.items() if not open_vib(ref).signature_bytes]
    assert len(unsigned) == 10
    for vid in unsigned:
        assert bundles_depot.vibs[vid].acceptance_level == "community"
        assert S.verify_vib_archive(open_vib(bundles_depot.vib_files[vid]), trust).status == "unsigned"


def test_changed_descriptor_byte_fails(trust, tmp_path):
    arch = VibArchive(extract_vib([z for z in SIGNED_BUNDLES if "ESXi80U3" in z][0], tmp_path))
    bad = _flip_descriptor_byte(arch.descriptor_bytes)
    r = S.verify_detached(arch.signature_bytes, bad, trust)
    assert r.status == "invalid" and "digest mismatch" in r.reason


def test_changed_host_record_orig_fails(trust, tmp_path):
    rec = os.path.join(ESXIMG, "vibs", "ata-libata-92--421763408.xml")
    with open(rec + ".orig", "rb") as fh:
        orig = fh.read()
    with open(rec + ".sig", "rb") as fh:
        sig = fh.read()
    assert S.verify_detached(sig, orig, trust).valid
    assert S.verify_detached(sig, _flip_descriptor_byte(orig), trust).status == "invalid"


def test_tampered_signed_attributes_fail_signature_check(trust):
    rec = os.path.join(ESXIMG, "vibs", "ata-libata-92--421763408.xml")
    with open(rec + ".orig", "rb") as fh:
        orig = fh.read()
    with open(rec + ".sig", "rb") as fh:
        der = S._decode(fh.read())
    # move the signing time by one second inside the signed attributes (UTCTime 180403215324Z)
    i = der.index(b"180403215324Z")
    forged = der[:i] + b"180403215325Z" + der[i + 13:]
    r = S.verify_detached(forged, orig, trust)
    assert r.status == "invalid" and "does not verify" in r.reason


def test_der_encoded_signature_verifies(trust):
    rec = os.path.join(ESXIMG, "vibs", "esx-base-591008816.xml")
    with open(rec + ".sig", "rb") as fh:
        der = S._decode(fh.read())
    with open(rec + ".orig", "rb") as fh:
        orig = fh.read()
    assert der[:1] == b"\x30"
    assert S.verify_detached(der, orig, trust).valid


def test_unsigned_community_vib():
    from ansible_collections.fleetpatch.esxi.plugins.module_utils._imagebuilder.signature import TrustStore
    arch = VibArchive(WATCHDOG_VIB)
    assert arch.signature_bytes == b""
    r = S.verify_vib_archive(arch, VIO.read_trust_store(TRUST))
    assert r.status == "unsigned"


def test_signer_missing_from_trust_store_fails(tmp_path):
    # only the 2008 certificate: the 2025 "VMware Certified VIB Signing" signature does not chain to it
    only_old = tmp_path / "old.pem"
    with open(TRUST[0], "rb") as fh:
        first = fh.read().split(b"-----END CERTIFICATE-----")[0] + b"-----END CERTIFICATE-----\n"
    only_old.write_bytes(first)
    ts = VIO.read_trust_store([str(only_old)])
    arch = VibArchive(extract_vib([z for z in SIGNED_BUNDLES if "ESXi90" in z][0], tmp_path))
    r = S.verify_vib_archive(arch, ts)
    assert r.status == "invalid" and "not in the trust store" in r.reason


def test_expiry_modes_on_the_2019_accepted_certificate(trust, tmp_path):
    # ESXi 6.7 USB NIC fling: signed 2020-08-21 by "VMware Accepted VIB Signing" (valid 2019-04-16..2022-04-15)
    arch = VibArchive(extract_vib([z for z in SIGNED_BUNDLES if "ESXi670" in z][0], tmp_path))
    r = S.verify_vib_archive(arch, trust, expiry="signing_time")
    assert r.valid and r.expired and r.signing_time.startswith("2020-08-21")
    assert "Accepted VIB Signing" in r.expired_certificates[0]
    assert S.verify_vib_archive(arch, trust, expiry="ignore").valid
    strict = S.verify_vib_archive(arch, trust, expiry="now")
    assert strict.status == "invalid" and "not valid now" in strict.reason
    # at a date when everything was valid, "now" passes
    assert S.verify_vib_archive(arch, trust, expiry="now", now=datetime.datetime(2021, 1, 1)).valid
    with pytest.raises(InputError):
        S.verify_vib_archive(arch, trust, expiry="sometimes")


def test_garbage_signature_is_invalid_not_an_exception(trust):
    for junk in (b"-----BEGIN PKCS7-----\nAAAA\n-----END PKCS7-----\n", b"\x30\x03\x02\x01\x01", b"hello"):
        r = S.verify_detached(junk, b"<vib/>", trust)
        assert r.status == "invalid", junk


# ---- trust store -------------------------------------------------------------------------------------------------
def test_trust_store_reads_vmware_certificates_and_crl(trust):
    assert len(trust.certificates) == 3 and len(trust.crls) == 1


def test_trust_store_errors_are_input_errors(tmp_path):
    with pytest.raises(InputError, match="cannot read .*nope.pem"):
        VIO.read_trust_store([str(tmp_path / "nope.pem")])
    junk = tmp_path / "junk.pem"
    junk.write_text("not a certificate")
    with pytest.raises(InputError, match="no PEM/DER certificate"):
        VIO.read_trust_store([str(junk)])
    with pytest.raises(InputError, match="no trusted certificate"):
        VIO.read_trust_store([CRL])
    broken = tmp_path / "broken.pem"
    broken.write_text("-----BEGIN CERTIFICATE-----\nQUJD\n-----END CERTIFICATE-----\n")
    with pytest.raises(InputError, match="broken.pem"):
        VIO.read_trust_store([str(broken)])


# ---- synthetic PKI (own CA): chains, CA flag, validity at signing time, CRLs ------------------------------------
def _name(cn):
    return x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "fleetpatch test"),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(subject, key, issuer, issuer_key, ca, not_before, not_after, serial=None):
    b = (x509.CertificateBuilder().subject_name(_name(subject)).issuer_name(_name(issuer))
         .public_key(key.public_key()).serial_number(serial or x509.random_serial_number())
         .not_valid_before(not_before).not_valid_after(not_after))
    if ca is not None:
        b = b.add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    return b.sign(issuer_key, hashes.SHA256())


@pytest.fixture(scope="module")
def pki():
    now = datetime.datetime.now(datetime.timezone.utc)
    day = datetime.timedelta(days=1)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    inter_key = ec.generate_private_key(ec.SECP256R1())
    leaf_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = _cert("Root", root_key, "Root", root_key, True, now - 1000 * day, now + 1000 * day)
    inter = _cert("Inter", inter_key, "Root", root_key, True, now - 900 * day, now + 900 * day)
    inter_no_ca = _cert("Inter", inter_key, "Root", root_key, False, now - 900 * day, now + 900 * day)
    leaf = _cert("Leaf", leaf_key, "Inter", inter_key, None, now - 10 * day, now + 10 * day, serial=4242)
    expired_leaf = _cert("Leaf", leaf_key, "Inter", inter_key, None, now - 100 * day, now - 50 * day)
    return dict(now=now, day=day, root_key=root_key, inter_key=inter_key, leaf_key=leaf_key, root=root,
                inter=inter, inter_no_ca=inter_no_ca, leaf=leaf, expired_leaf=expired_leaf)


def _sign(content, cert, key, extra=(), options=(pkcs7.PKCS7Options.DetachedSignature,), encoding=None):
    b = pkcs7.PKCS7SignatureBuilder().set_data(content).add_signer(cert, key, hashes.SHA256())
    for c in extra:
        b = b.add_certificate(c)
    return b.sign(encoding or serialization.Encoding.PEM, list(options))


def _store(tmp_path, certs, crls=()):
    p = tmp_path / "trust.pem"
    data = b"".join(c.public_bytes(serialization.Encoding.PEM) for c in certs)
    data += b"".join(c.public_bytes(serialization.Encoding.PEM) for c in crls)
    p.write_bytes(data)
    return VIO.read_trust_store([str(p)])


DESC = b"<vib version=\"5.0\"><name>x</name><summary>test</summary></vib>"


def test_chain_through_intermediate_with_ec_key(pki, tmp_path):
    ts = _store(tmp_path, [pki["root"]])
    sig = _sign(DESC, pki["leaf"], pki["leaf_key"], extra=[pki["inter"]])
    r = S.verify_detached(sig, DESC, ts)
    assert r.valid and not r.expired and len(r.chain) == 3
    # the same signature without the intermediate cannot be chained
    sig2 = _sign(DESC, pki["leaf"], pki["leaf_key"])
    assert "no trusted issuer" in S.verify_detached(sig2, DESC, ts).reason


def test_intermediate_without_ca_flag_is_refused(pki, tmp_path):
    ts = _store(tmp_path, [pki["root"]])
    sig = _sign(DESC, pki["leaf"], pki["leaf_key"], extra=[pki["inter_no_ca"]])
    assert S.verify_detached(sig, DESC, ts).status == "invalid"


def test_signing_time_outside_certificate_validity(pki, tmp_path):
    ts = _store(tmp_path, [pki["root"], pki["inter"]])
    sig = _sign(DESC, pki["expired_leaf"], pki["leaf_key"])   # signed today with a certificate expired 50 days ago
    r = S.verify_detached(sig, DESC, ts)
    assert r.status == "invalid" and "not valid at signing time" in r.reason
    assert S.verify_detached(sig, DESC, ts, expiry="ignore").valid


def test_no_signed_attributes_no_signing_time(pki, tmp_path):
    ts = _store(tmp_path, [pki["root"], pki["inter"]])
    opts = (pkcs7.PKCS7Options.DetachedSignature, pkcs7.PKCS7Options.NoAttributes)
    sig = _sign(DESC, pki["expired_leaf"], pki["leaf_key"], options=opts, encoding=serialization.Encoding.DER)
    r = S.verify_detached(sig, DESC, ts)
    # no signingTime: dates are not checked (openssl -no_check_time), the expiry is reported
    assert r.valid and r.signing_time is None and r.expired
    assert S.verify_detached(sig, DESC + b" ", ts).status == "invalid"
    assert S.verify_detached(sig, DESC, ts, expiry="now").status == "invalid"


def test_crl_revokes_signer(pki, tmp_path):
    now = pki["now"]
    crl = (x509.CertificateRevocationListBuilder().issuer_name(_name("Inter"))
           .last_update(now - pki["day"]).next_update(now + pki["day"])
           .add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(4242)
                                    .revocation_date(now - pki["day"]).build())
           .sign(pki["inter_key"], hashes.SHA256()))
    sig = _sign(DESC, pki["leaf"], pki["leaf_key"], extra=[pki["inter"]])
    ts = _store(tmp_path, [pki["root"]], [crl])
    r = S.verify_detached(sig, DESC, ts)
    assert r.status == "invalid" and "revoked" in r.reason
    # a CRL not signed by the issuer is ignored
    forged = (x509.CertificateRevocationListBuilder().issuer_name(_name("Inter"))
              .last_update(now - pki["day"]).next_update(now + pki["day"])
              .add_revoked_certificate(x509.RevokedCertificateBuilder().serial_number(4242)
                                       .revocation_date(now - pki["day"]).build())
              .sign(pki["root_key"], hashes.SHA256()))
    assert S.verify_detached(sig, DESC, _store(tmp_path, [pki["root"]], [forged])).valid


def test_attached_signature_must_embed_the_same_content(pki, tmp_path):
    ts = _store(tmp_path, [pki["root"], pki["inter"]])
    sig = _sign(DESC, pki["leaf"], pki["leaf_key"], options=())
    assert S.verify_detached(sig, DESC, ts).valid
    assert "other content" in S.verify_detached(sig, DESC.replace(b"test", b"tesT"), ts).reason
