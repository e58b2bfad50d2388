#!/usr/bin/env python3
"""PyKMIP 0.11.0 client against a KMIP server: one line per operation, `ok NAME` or `FAIL NAME: reason`.

Usage: pykmip_client.py HOST PORT CA CERT KEY VERSION   (VERSION: 1.2, 1.4 or 2.0)
Exit status 0 only when every operation succeeded. Used by kms/tests/pykmip_interop.rs.
"""
import sys
import traceback

from kmip.core import enums
from kmip.pie import client as pie_client
from kmip.pie import objects

VERSIONS = {
    "1.2": enums.KMIPVersion.KMIP_1_2,
    "1.4": enums.KMIPVersion.KMIP_1_4,
    "2.0": enums.KMIPVersion.KMIP_2_0,
}


def main():
    host, port, ca, cert, key, version = sys.argv[1:7]
    c = pie_client.ProxyKmipClient(
        hostname=host,
        port=int(port),
        cert=cert,
        key=key,
        ca=ca,
        kmip_version=VERSIONS[version],
    )
    failures = []

    def step(name, fn):
        try:
            result = fn()
            print("ok", name, flush=True)
            return result
        except Exception as e:  # report and go on: one failure must not hide the others
            failures.append(name)
            print("FAIL %s: %s" % (name, e), flush=True)
            traceback.print_exc(file=sys.stderr)
            return None

    with c:
        name = "pykmip-%s" % version
        aes = step("create", lambda: c.create(
            enums.CryptographicAlgorithm.AES, 256, name=name,
            cryptographic_usage_mask=[enums.CryptographicUsageMask.ENCRYPT,
                                      enums.CryptographicUsageMask.DECRYPT]))
        step("get", lambda: len(c.get(aes).value) == 32 or fail("wrong key length"))
        step("get_attributes", lambda: c.get_attributes(
            aes, ["Cryptographic Algorithm", "Cryptographic Length"]))
        step("locate", lambda: aes in c.locate(attributes=[
            __import__("kmip").core.factories.attributes.AttributeFactory().create_attribute(
                enums.AttributeType.NAME,
                __import__("kmip").core.attributes.Name.create(
                    name, enums.NameType.UNINTERPRETED_TEXT_STRING))]) or fail("not located"))
        step("activate", lambda: c.activate(aes))
        registered = step("register", lambda: c.register(objects.SecretData(
            b"\x00" * 16, enums.SecretDataType.PASSWORD, name="%s-secret" % name)))
        step("get registered", lambda: c.get(registered).value == b"\x00" * 16 or fail("wrong value"))

        pair = step("create_key_pair", lambda: c.create_key_pair(
            enums.CryptographicAlgorithm.RSA, 2048,
            public_usage_mask=[enums.CryptographicUsageMask.ENCRYPT,
                               enums.CryptographicUsageMask.VERIFY],
            private_usage_mask=[enums.CryptographicUsageMask.DECRYPT,
                                enums.CryptographicUsageMask.SIGN]))
        if pair:
            public, private = pair
            step("activate pair", lambda: (c.activate(public), c.activate(private)))
            oaep = {
                "cryptographic_algorithm": enums.CryptographicAlgorithm.RSA,
                "padding_method": enums.PaddingMethod.OAEP,
                "hashing_algorithm": enums.HashingAlgorithm.SHA_1,
            }
            enc = step("encrypt", lambda: c.encrypt(b"interop", public, cryptographic_parameters=oaep))
            step("decrypt", lambda: c.decrypt(enc[0], private, cryptographic_parameters=oaep)
                 == b"interop" or fail("wrong plaintext"))
            pkcs1 = {
                "cryptographic_algorithm": enums.CryptographicAlgorithm.RSA,
                "padding_method": enums.PaddingMethod.PKCS1v15,
                "hashing_algorithm": enums.HashingAlgorithm.SHA_256,
            }
            sig = step("sign", lambda: c.sign(b"message", private, cryptographic_parameters=pkcs1))
            step("signature_verify", lambda: c.signature_verify(
                b"message", sig, public, cryptographic_parameters=pkcs1)
                == enums.ValidityIndicator.VALID or fail("not valid"))

        hmac = step("create hmac", lambda: c.create(
            enums.CryptographicAlgorithm.HMAC_SHA256, 256,
            cryptographic_usage_mask=[enums.CryptographicUsageMask.MAC_GENERATE]))
        step("activate hmac", lambda: c.activate(hmac))
        step("mac", lambda: c.mac(b"data", hmac, enums.CryptographicAlgorithm.HMAC_SHA256))

        step("revoke", lambda: c.revoke(enums.RevocationReasonCode.CESSATION_OF_OPERATION, aes))
        step("destroy", lambda: c.destroy(aes))
    sys.exit(1 if failures else 0)


def fail(message):
    raise AssertionError(message)


if __name__ == "__main__":
    main()
