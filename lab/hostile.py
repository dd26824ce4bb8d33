#!/usr/bin/env python3
"""hostile.py: hostile traffic at the lab's client, for the hardening tests.

Runs in a router namespace (normally r1). It watches, on the interface toward the client,
every probe the client sends, and answers each at once with forgeries that carry the right
addresses but the wrong tokens:

  * an ICMP echo request (a ping, or an ICMP trace probe): an echo reply from the probed
    address with the same identifier and sequence but a corrupted payload token, and a
    time-exceeded from FAKE_ROUTER quoting the request with another sequence number;
  * a UDP or TCP trace probe: time-exceeded messages from FAKE_ROUTER quoting it with another
    source port, and with another UDP checksum / TCP sequence number (another probe id);
  * a TCP SYN: a SYN-ACK from the probed address that answers it exactly (ports swapped, ack =
    seq + 1) but whose checksum is wrong, as if damaged on the way: were it taken, the trace
    would "reach" the destination at the probe's TTL.

Besides, it floods the client with echo replies of random identifiers and sequences.
Every forgery comes from close by, so it arrives long before the real answer. It writes how
many it sent to --count-file when stopped (SIGTERM), so a test can tell it was not idle.

Only IPv4, only lab addresses: it answers packets the client sends, to the client.
"""
import argparse
import os
import random
import select
import signal
import socket
import struct
import sys
import time

ETH_P_IP = 0x0800
FAKE_ROUTER = "10.99.250.1"


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4(src: str, dst: str, proto: int, payload: bytes, ttl: int = 64) -> bytes:
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(payload), random.getrandbits(16), 0, ttl, proto, 0,
                         socket.inet_aton(src), socket.inet_aton(dst))
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + payload


def icmp(kind: int, code: int, rest: bytes, body: bytes) -> bytes:
    message = struct.pack("!BBH", kind, code, 0) + rest + body
    return message[:2] + struct.pack("!H", checksum(message)) + message[4:]


def tcp_syn_ack_damaged(src: str, dst: str, sport: int, dport: int, ack: int) -> bytes:
    """A SYN-ACK src:sport -> dst:dport acknowledging ack - 1, with a checksum that is neither
    correct nor the pseudo-header sum that checksum offload leaves."""
    segment = struct.pack("!HHIIBBHHH", sport, dport, random.getrandbits(32), ack & 0xFFFFFFFF, 0x50, 0x12, 65535, 0, 0)
    pseudo = socket.inet_aton(src) + socket.inet_aton(dst) + struct.pack("!BBH", 0, 6, len(segment))
    correct = checksum(pseudo + segment)
    return segment[:16] + struct.pack("!H", correct ^ 0x0F0F) + segment[18:]


def quote_with(packet: bytes, header_len: int, offset: int, value: bytes) -> bytes:
    """The probe's IP header and the first 8+ bytes after it, with bytes at offset replaced."""
    quoted = bytearray(packet[: header_len + 28])
    quoted[header_len + offset: header_len + offset + len(value)] = value
    return bytes(quoted)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--interface", default="left")
    parser.add_argument("--client", required=True)
    parser.add_argument("--count-file", required=True)
    parser.add_argument("--flood-per-second", type=int, default=2000)
    args = parser.parse_args()

    sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
    sniff.bind((args.interface, 0))
    sniff.setblocking(False)
    send = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)

    sent = 0
    running = True

    def stop(*_):
        nonlocal running
        running = False

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)

    def emit(packet: bytes):
        nonlocal sent
        try:
            send.sendto(packet, (args.client, 0))
            sent += 1
        except OSError:
            pass

    print("hostile: ready", flush=True)
    next_flood = time.monotonic()
    flood_gap = 1.0 / args.flood_per_second if args.flood_per_second > 0 else None
    while running:
        readable, _, _ = select.select([sniff], [], [], 0.001)
        if readable:
            for _ in range(256):
                try:
                    frame, meta = sniff.recvfrom(65535)
                except BlockingIOError:
                    break
                if meta[2] == socket.PACKET_OUTGOING or len(frame) < 14 + 20:
                    continue
                packet = frame[14:]
                if packet[0] >> 4 != 4:
                    continue
                header_len = (packet[0] & 0x0F) * 4
                proto = packet[9]
                src = socket.inet_ntoa(packet[12:16])
                dst = socket.inet_ntoa(packet[16:20])
                if src != args.client or len(packet) < header_len + 8:
                    continue
                transport = packet[header_len:]
                if proto == 1 and transport[0] == 8:  # echo request
                    ident, sequence = struct.unpack("!HH", transport[4:8])
                    body = bytearray(transport[8:])
                    for i in range(4, min(12, len(body))):  # after the magic: the token
                        body[i] ^= 0x5A
                    emit(ipv4(dst, args.client, 1, icmp(0, 0, struct.pack("!HH", ident, sequence), bytes(body))))
                    wrong = struct.pack("!H", (sequence + 1000) & 0xFFFF)
                    emit(ipv4(FAKE_ROUTER, args.client, 1, icmp(11, 0, b"\0" * 4, quote_with(packet, header_len, 6, wrong))))
                elif proto == 17:
                    sport, checksum_value = struct.unpack("!H", transport[0:2])[0], struct.unpack("!H", transport[6:8])[0]
                    for offset, value in ((0, (sport + 1) & 0xFFFF), (6, (checksum_value + 20000) & 0xFFFF or 1)):
                        quoted = quote_with(packet, header_len, offset, struct.pack("!H", value))
                        emit(ipv4(FAKE_ROUTER, args.client, 1, icmp(11, 0, b"\0" * 4, quoted)))
                elif proto == 6 and len(transport) >= 8:
                    sport, = struct.unpack("!H", transport[0:2])
                    seq, = struct.unpack("!I", transport[4:8])
                    for offset, value in ((0, struct.pack("!H", (sport + 1) & 0xFFFF)), (4, struct.pack("!I", seq ^ 0x00FF0000))):
                        emit(ipv4(FAKE_ROUTER, args.client, 1, icmp(11, 0, b"\0" * 4, quote_with(packet, header_len, offset, value))))
                    if len(transport) >= 14 and transport[13] & 0x02:  # SYN
                        dport, = struct.unpack("!H", transport[2:4])
                        emit(ipv4(dst, args.client, 6, tcp_syn_ack_damaged(dst, args.client, dport, sport, seq + 1)))
        if flood_gap is not None:
            now = time.monotonic()
            while next_flood <= now and running:
                body = os.urandom(56)
                emit(ipv4(FAKE_ROUTER, args.client, 1, icmp(0, 0, struct.pack("!HH", random.getrandbits(16), random.getrandbits(16)), body)))
                next_flood += flood_gap
            if now - next_flood > 1:
                next_flood = now
    with open(args.count_file, "w") as handle:
        handle.write(f"{sent}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
