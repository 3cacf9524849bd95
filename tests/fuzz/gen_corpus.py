#!/usr/bin/env python3
"""Writes the seed corpus in corpus/<fuzzer>/: a few well-formed (and a few
borderline) inputs, so the fuzzers start from accepted descriptors and
handshakes instead of having to discover the magic numbers.  The output is
committed; rerun this after an ABI change."""
import os
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "corpus")

CONNECT, ACCEPT, SEND, RX_POST, SHUTDOWN, RESET, CREDIT = range(1, 8)
HOST_BASE = 0x80000000
MAGIC, VERSION = 0x76697274, 1


def desc(op, flags=0, conn=0, addr=0, length=0, status=0, buf_alloc=0, fwd_cnt=0):
    # struct virt_desc: u16 op, u16 flags, u32 conn, u64 addr, u32 len,
    # s32 status, u32 buf_alloc, u32 fwd_cnt (32 bytes, little endian)
    return struct.pack("<HHIQIiII", op, flags, conn, addr, length, status,
                       buf_alloc, fwd_cnt)


def hello(entries=256, gpa=0x100000, features=3, vector=44, magic=MAGIC,
          version=VERSION):
    # struct virt_hello (64 bytes): the guest half, then the host half zeroed
    return struct.pack("<IIQQIIIIIIQQ", magic, version, features, gpa, entries,
                       0, vector, 0, 0, 0, 0, 0)


VALID = [
    desc(CONNECT, conn=1, addr=(1024 << 32) | 80, buf_alloc=65536),
    desc(ACCEPT, conn=HOST_BASE + 1, buf_alloc=65536),
    desc(SEND, conn=1, addr=0x200000, length=1500, buf_alloc=65536, fwd_cnt=10),
    desc(SEND, conn=7, addr=(1 << 52) - 65536, length=65536),
    desc(RX_POST, addr=0x300000, length=4096),
    desc(SHUTDOWN, flags=3, conn=1),
    desc(RESET, conn=1, status=-111),
    desc(CREDIT, conn=HOST_BASE + 5, buf_alloc=262144, fwd_cnt=4096),
]
INVALID = [
    desc(99, conn=1),
    desc(SEND, conn=1, addr=(1 << 52) - 1, length=2),
    desc(RX_POST, addr=0x300020, length=4096),
    desc(CONNECT, conn=HOST_BASE, addr=80),
]


def ring_input(log, start, flags, rounds):
    # see fuzz_ring.c: [log][u32 start][flags] then [u32 control][u8 n][descs]
    out = struct.pack("<BIB", log, start, flags)
    for control, descs in rounds:
        out += struct.pack("<IB", control, len(descs)) + b"".join(descs)
    return out


def write(fuzzer, name, data):
    d = os.path.join(OUT, fuzzer)
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def main():
    for i, d in enumerate(VALID):
        write("fuzz_desc", "valid-%d" % i, d)
    write("fuzz_desc", "mixed", b"".join(VALID + INVALID))

    write("fuzz_hello", "valid", hello())
    write("fuzz_hello", "min-ring", hello(entries=16, gpa=0x1000, features=2, vector=0))
    write("fuzz_hello", "max-ring-top", hello(entries=4096, gpa=(1 << 52) - 0x41000))
    write("fuzz_hello", "bad-vector", hello(vector=31))
    # with the 65th byte: ring_gpa = 2^52 - 0x41000, i.e. a 4096-entry ring
    # that ends exactly at 2^52
    write("fuzz_hello", "top-mode", hello(entries=4096, gpa=0x41000) + b"\x01")

    batch = VALID + INVALID
    write("fuzz_ring", "wrap", ring_input(0, 0xfffffff8, 0, [
        (5, batch[:5]), (11, batch[5:]), (16, batch), (17, [])]))
    write("fuzz_ring", "scribble", ring_input(0, 0xfffffffc, 1, [(8, batch[:8])]))
    write("fuzz_ring", "bogus-prod", ring_input(2, 0, 0, [
        (0x80000000, batch), (3, batch[:3])]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
