"""
The sealed envelope of common/seal.c in Python, for tests that play the attacker (forge,
replay, tamper, claim another perspective) and for the fuzz seeds:
  "MPSL" | version u8 | dir u8 | key id u32 | expiry i64 | attempt u32 | check type u8 |
  rid | perspective len u8 | perspective | nonce[12] | ciphertext+tag[16]
rid: version 1, len u8 then the id; version 2 (jobs with a 32-lowercase-hex-digit id), the
id's 16 bytes. Everything before the nonce is the associated data (ChaCha20-Poly1305).
"""
import os
import struct

import msgpack
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305

DIR_JOB, DIR_RESULT = 1, 2
CHECK_TYPES = {"caa": 0, "dcv": 1}


def header(direction, key_id, expiry_ms, attempt, check_type, rid, perspective, version=1):
    p_b = perspective.encode()
    rid_f = bytes.fromhex(rid) if version == 2 else bytes([len(rid.encode())]) + rid.encode()
    return (b"MPSL" + struct.pack(">BBIqIB", version, direction, key_id, expiry_ms, attempt,
                                  CHECK_TYPES[check_type])
            + rid_f + bytes([len(p_b)]) + p_b)


def parse(env):
    """The clear header as a dict plus the offset of the nonce."""
    assert env[:4] == b"MPSL", env[:8]
    version, direction, key_id, expiry, attempt, ct = struct.unpack(">BBIqIB", env[4:23])
    assert version in (1, 2), version
    off = 23
    if version == 2:
        rid = env[off:off + 16].hex()
        off += 16
    else:
        rid = env[off + 1:off + 1 + env[off]].decode()
        off += 1 + env[off]
    persp = env[off + 1:off + 1 + env[off]].decode()
    off += 1 + env[off]
    return {"version": version, "dir": direction, "key_id": key_id, "expiry_ms": expiry,
            "attempt": attempt, "check_type": {v: k for k, v in CHECK_TYPES.items()}[ct],
            "rid": rid, "perspective": persp, "body_offset": off}


def seal(key, direction, key_id, expiry_ms, attempt, check_type, rid, perspective, plaintext,
         version=1):
    ad = header(direction, key_id, expiry_ms, attempt, check_type, rid, perspective, version)
    nonce = os.urandom(12)
    return ad + nonce + ChaCha20Poly1305(key).encrypt(nonce, plaintext, ad)


def open_(key, env):
    h = parse(env)
    off = h["body_offset"]
    return ChaCha20Poly1305(key).decrypt(env[off:off + 12], env[off + 12:], env[:off])


def rewrite_header(env, **changes):
    """The same nonce/ciphertext/tag under a header with some fields changed (a forgery)."""
    h = parse(env)
    body = env[h["body_offset"]:]
    fields = {k: h[k] for k in ("dir", "key_id", "expiry_ms", "attempt", "check_type", "rid",
                                "perspective", "version")}
    fields.update(changes)
    return header(fields["dir"], fields["key_id"], fields["expiry_ms"], fields["attempt"],
                  fields["check_type"], fields["rid"], fields["perspective"],
                  fields["version"]) + body


def result_msg(rid, attempt, perspective, check_type, check_response):
    """The msgpack result of common/msg.c."""
    return msgpack.packb({"v": 1, "rid": rid, "att": attempt, "p": perspective,
                          "ct": check_type, "cr": check_response}, use_bin_type=True)


def passing_caa_response():
    return {"check_completed": True, "check_passed": True, "errors": [],
            "timestamp_ns": 1, "check_type": "caa",
            "details": {"caa_record_present": False, "found_at": None, "records_seen": []}}
