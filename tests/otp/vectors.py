"""Published test vectors, shared by the unit and interop suites."""

from __future__ import annotations

from typing import Final

from twostep.otp import Algorithm

RFC4226_KEY: Final = b"12345678901234567890"

#: RFC 4226 Appendix D: (counter, 6-digit HOTP value).
RFC4226_HOTP: Final[list[tuple[int, str]]] = [
    (0, "755224"),
    (1, "287082"),
    (2, "359152"),
    (3, "969429"),
    (4, "338314"),
    (5, "254676"),
    (6, "287922"),
    (7, "162583"),
    (8, "399871"),
    (9, "520489"),
]

#: RFC 6238 Appendix B seeds: the ASCII digits repeated to the hash's natural key length.
RFC6238_SEEDS: Final[dict[Algorithm, bytes]] = {
    "sha1": b"12345678901234567890",
    "sha256": b"12345678901234567890123456789012",
    "sha512": b"1234567890123456789012345678901234567890123456789012345678901234",
}

#: RFC 6238 Appendix B: (unix time, step, algorithm, 8-digit TOTP value).
RFC6238_TOTP: Final[list[tuple[int, int, Algorithm, str]]] = [
    (59, 0x1, "sha1", "94287082"),
    (59, 0x1, "sha256", "46119246"),
    (59, 0x1, "sha512", "90693936"),
    (1111111109, 0x23523EC, "sha1", "07081804"),
    (1111111109, 0x23523EC, "sha256", "68084774"),
    (1111111109, 0x23523EC, "sha512", "25091201"),
    (1111111111, 0x23523ED, "sha1", "14050471"),
    (1111111111, 0x23523ED, "sha256", "67062674"),
    (1111111111, 0x23523ED, "sha512", "99943326"),
    (1234567890, 0x273EF07, "sha1", "89005924"),
    (1234567890, 0x273EF07, "sha256", "91819424"),
    (1234567890, 0x273EF07, "sha512", "93441116"),
    (2000000000, 0x3F940AA, "sha1", "69279037"),
    (2000000000, 0x3F940AA, "sha256", "90698825"),
    (2000000000, 0x3F940AA, "sha512", "38618901"),
    (20000000000, 0x27BC86AA, "sha1", "65353130"),
    (20000000000, 0x27BC86AA, "sha256", "77737706"),
    (20000000000, 0x27BC86AA, "sha512", "47863826"),
]
