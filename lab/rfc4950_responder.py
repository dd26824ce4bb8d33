#!/usr/bin/env python3
"""rfc4950_responder.py: makes a lab router answer like an LSR inside an MPLS tunnel.

Runs in a router namespace (the kernel has no MPLS forwarding in the lab, and Linux never adds
RFC 4950 extensions to its ICMP errors). The router's own time-exceeded messages are dropped by
an nftables output rule this script installs (table inet rfc4950, removed at exit); instead, for
every IPv4 packet that arrives on --interface with TTL 1 for another host, it sends the ICMP
time exceeded a label switching router sends (RFC 4950): the RFC 4884 length attribute, the
original datagram zero-padded to 128 octets, then an extension structure (version 2, checksum)
holding one MPLS label stack object (class 1, c-type 1) with the --label entries as given,
outermost first: LABEL:TC:S:TTL.

Its own answers carry SO_MARK 0x4950, which the nftables rule lets through. Only IPv4, only lab
addresses: it answers packets that arrive from the lab's client, to their source.
"""
import argparse
import random
import select
import signal
import socket
import struct
import subprocess
import sys

ETH_P_IP = 0x0800
MARK = 0x4950


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def label_stack_object(entries) -> bytes:
    """RFC 4950 §7: class 1 (MPLS label stack), c-type 1 (incoming stack), 4 bytes an entry."""
    body = b"".join(struct.pack("!I", label << 12 | tc << 9 | s << 8 | ttl) for label, tc, s, ttl in entries)
    return struct.pack("!HBB", 4 + len(body), 1, 1) + body


def extension_structure(entries) -> bytes:
    """RFC 4884 §7: version 2, reserved, checksum over the whole structure, then the objects."""
    objects = label_stack_object(entries)
    header = struct.pack("!BBH", 0x20, 0, 0)
    total = checksum(header + objects)
    return struct.pack("!BBH", 0x20, 0, total) + objects


def time_exceeded(router: str, packet: bytes, entries) -> bytes:
    original = packet[:128].ljust(128, b"\0")  # RFC 4884 §4.1: at least 128 octets, zero padded
    rest = struct.pack("!BBH", 0, len(original) // 4, 0)  # byte 5: length in 32-bit words
    message = struct.pack("!BBH", 11, 0, 0) + rest + original + extension_structure(entries)
    message = message[:2] + struct.pack("!H", checksum(message)) + message[4:]
    destination = packet[12:16]
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(message), random.getrandbits(16), 0, 64, 1, 0,
                         socket.inet_aton(router), destination)
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + message


def parse_entry(text: str):
    label, tc, s, ttl = (int(part) for part in text.split(":"))
    if not (0 <= label < 1 << 20 and 0 <= tc < 8 and s in (0, 1) and 0 <= ttl < 256):
        raise argparse.ArgumentTypeError(f"bad label stack entry {text}: LABEL:TC:S:TTL")
    return label, tc, s, ttl


def nft(script: str) -> None:
    subprocess.run(["nft", "-f", "-"], input=script, text=True, check=True)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interface", default="left")
    parser.add_argument("--router", required=True, help="the address the answers come from")
    parser.add_argument("--label", type=parse_entry, action="append", required=True)
    args = parser.parse_args()

    nft(f"""table inet rfc4950 {{
    chain output {{
        type filter hook output priority 0; policy accept;
        meta mark != {MARK} icmp type time-exceeded drop
    }}
}}""")
    sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    sniff.bind((args.interface, 0))
    send = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)
    send.setsockopt(socket.SOL_SOCKET, socket.SO_MARK, MARK)

    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    answered = 0
    print("rfc4950: ready", flush=True)
    try:
        while running:
            readable, _, _ = select.select([sniff], [], [], 0.05)
            if not readable:
                continue
            frame, meta = sniff.recvfrom(65535)
            if meta[2] == socket.PACKET_OUTGOING or len(frame) < 14 + 20:
                continue
            packet = frame[14:]
            if packet[0] != 0x45 or packet[8] > 1:  # IPv4 without options, TTL 0 or 1 on arrival
                continue
            destination = socket.inet_ntoa(packet[16:20])
            if destination == args.router:
                continue
            total = struct.unpack("!H", packet[2:4])[0]
            packet = packet[:total]
            send.sendto(time_exceeded(args.router, packet, args.label), (socket.inet_ntoa(packet[12:16]), 0))
            answered += 1
    finally:
        subprocess.run(["nft", "delete", "table", "inet", "rfc4950"], check=False)
        print(f"rfc4950: answered {answered}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
