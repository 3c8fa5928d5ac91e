#!/usr/bin/env python3
# Generates TEST-ONLY X.509 chains for gw.crypto.verify_chain (UnionPay ACP 5.1
# signPubKeyCert checks): root CA -> middle CA -> "UnionPay" signing certificate,
# plus the certificates that must NOT pass (another root, expired, self-signed,
# not UnionPay's name).  Dates are fixed (2020..2099) so that the pack fixtures,
# which run under the frozen clock 2024-01-01, and the unit tests (real clock)
# both see them valid; the expired one ended in 2021.
# Python `cryptography` is used only because `openssl x509` (3.0) cannot backdate.
# Run from the repository root:  python3 tests/vectors/unionpay_acp/gen_chain.py
import datetime as dt
import os

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.normpath(os.path.join(HERE, '..', '..', '..'))
UNIT = os.path.join(ROOT, 'tests', 'vectors', 'keys')
FIX = os.path.join(ROOT, 'templates', 'unionpay_acp.fixtures', 'keys')
T0 = dt.datetime(2020, 1, 1, tzinfo=dt.timezone.utc)
T1 = dt.datetime(2099, 12, 31, tzinfo=dt.timezone.utc)
UP_CN = '041@Z12@中国银联股份有限公司@00000001'


def key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def name(cn, ou='TEST-ONLY'):
    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, 'CN'),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, 'paygw TEST-ONLY'),
                      x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, ou),
                      x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def cert(subject_key, subject, issuer_key, issuer, serial, ca, start=T0, end=T1):
    b = (x509.CertificateBuilder().subject_name(subject).issuer_name(issuer)
         .public_key(subject_key.public_key()).serial_number(serial)
         .not_valid_before(start).not_valid_after(end)
         .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
         .add_extension(x509.SubjectKeyIdentifier.from_public_key(subject_key.public_key()), False)
         .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), False))
    if ca:
        b = b.add_extension(x509.KeyUsage(False, False, False, False, False, True, True, False, False), True)
    else:
        b = b.add_extension(x509.KeyUsage(True, True, False, False, False, False, False, False, False), True)
    return b.sign(issuer_key, hashes.SHA256())


def chain(prefix):
    rk, mk = key(), key()
    rn, mn = name(f'{prefix} Root CA', 'ROOT'), name(f'{prefix} Middle CA', 'MIDDLE')
    return rk, rn, cert(rk, rn, rk, rn, 1, True), mk, mn, cert(mk, mn, rk, rn, 2, True)


def pem_cert(c):
    return c.public_bytes(serialization.Encoding.PEM)


def pem_key(k):
    return k.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                           serialization.NoEncryption())


def write(d, f, data):
    with open(os.path.join(d, f), 'wb') as fh:
        fh.write(data)


# ---- unit test set (tests/unit/test_adapter_crypto2.c) ----
rk, rn, root, mk, mn, middle = chain('paygw TEST chain')
ok, _, other_root, _, _, _ = chain('paygw TEST other chain')
lk = key()
leaf = cert(lk, name(UP_CN, '00040000:SIGN'), mk, mn, 73837294829, False)
expired = cert(lk, name(UP_CN, '00040000:SIGN'), mk, mn, 73837294830, False,
               dt.datetime(2019, 1, 1, tzinfo=dt.timezone.utc), dt.datetime(2021, 1, 1, tzinfo=dt.timezone.utc))
selfsigned = cert(lk, name(UP_CN, '00040000:SIGN'), lk, name(UP_CN, '00040000:SIGN'), 73837294831, False)
write(UNIT, 'chain_test_root_cert.pem', pem_cert(root))
write(UNIT, 'chain_test_middle_cert.pem', pem_cert(middle))
write(UNIT, 'chain_test_other_root_cert.pem', pem_cert(other_root))
write(UNIT, 'chain_test_leaf_cert.pem', pem_cert(leaf))
write(UNIT, 'chain_test_leaf_private.pem', pem_key(lk))
write(UNIT, 'chain_test_expired_cert.pem', pem_cert(expired))
write(UNIT, 'chain_test_selfsigned_cert.pem', pem_cert(selfsigned))

# ---- pack fixture set (templates/unionpay_acp.fixtures/keys) ----
# "UnionPay" signs the fixture answers with tests/vectors/unionpay_acp/platform_private.pem;
# its certificate (fixture_upop_verify.pem, also the fallback verify_cert) is issued by the
# fixture middle CA.  other_*: a UnionPay-named certificate of another root (forged).
with open(os.path.join(HERE, 'platform_private.pem'), 'rb') as fh:
    upk = serialization.load_pem_private_key(fh.read(), None)
frk, frn, froot, fmk, fmn, fmiddle = chain('paygw FIXTURE UnionPay')
write(FIX, 'fixture_up_root.pem', pem_cert(froot))
write(FIX, 'fixture_up_middle.pem', pem_cert(fmiddle))
write(FIX, 'fixture_upop_verify.pem', pem_cert(cert(upk, name(UP_CN, '00040000:SIGN'), fmk, fmn, 73837294829, False)))
ork, orn, oroot, omk, omn, omiddle = chain('paygw FIXTURE impostor')
ok2 = key()
write(HERE, 'other_private.pem', pem_key(ok2))
write(HERE, 'other_cert.pem', pem_cert(cert(ok2, name(UP_CN, '00040000:SIGN'), omk, omn, 73837294829, False)))
# chained to the right root, but not UnionPay's name
write(HERE, 'notup_cert.pem', pem_cert(cert(upk, name('041@Z12@Some Other Company@00000001', 'X'), fmk, fmn, 1234, False)))
print('wrote unit and fixture chains')
