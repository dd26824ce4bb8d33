#!/usr/bin/env python3
"""make_capture_seeds.py: writes the seed captures of fuzz_capture_replay into corpus-capture/.

Small pcap and pcapng files of ICMP/ICMPv6 echo request/reply pairs, in the layouts replay
reads: microsecond and nanosecond pcap (both byte orders), pcapng with and without if_tsresol,
over Ethernet, Linux cooked v1 and raw IP; plus timestamps at the edges (0, the last second
int64 nanoseconds hold, and beyond it, as a crafted pcapng can carry); plus one capture per
link type cp_frame_decode reads (VLAN / QinQ / 0x9100 stacks, MPLS in Ethernet, PPPoE, BSD
NULL and LOOP, PPP, PPP in HDLC framing, PPP with direction, Cisco HDLC, bare MPLS) and one
of a link type it refuses; and one traceroute (UDP probes, a time exceeded with an MPLS label,
a port unreachable). Deterministic: rerun it and the files come out the same.
"""
import os
import struct

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus-capture")


def checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    total = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return ~total & 0xFFFF


def ipv4_echo(src, dst, kind, ident, seq):
    body = struct.pack("!BBHHH", kind, 0, 0, ident, seq) + bytes(range(56))
    body = body[:2] + struct.pack("!H", checksum(body)) + body[4:]
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), 1, 0, 64, 1, 0, bytes(src), bytes(dst))
    header = header[:10] + struct.pack("!H", checksum(header)) + header[12:]
    return header + body


def ipv6_echo(src, dst, kind, ident, seq):
    body = struct.pack("!BBHHH", kind, 0, 0, ident, seq) + bytes(range(56))
    pseudo = bytes(src) + bytes(dst) + struct.pack("!I3xB", len(body), 58)
    body = body[:2] + struct.pack("!H", checksum(pseudo + body)) + body[4:]
    return struct.pack("!IHBB", 0x60000000, len(body), 58, 64) + bytes(src) + bytes(dst) + body


V4_A, V4_B = [10, 99, 1, 1], [10, 99, 9, 9]
V6_A, V6_B = [0xfd, 0, 0x99] + [0] * 12 + [1], [0xfd, 0, 0x99] + [0] * 12 + [9]


def ethernet(packet, v6=False):
    return bytes([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1]) + struct.pack("!H", 0x86DD if v6 else 0x0800) + packet


def sll(packet, v6=False):
    return struct.pack("!HHH8sH", 4, 1, 6, bytes(8), 0x86DD if v6 else 0x0800) + packet


def mpls(packet, labels=((16001, 0, 254), (24, 5, 63))):
    """An MPLS label stack (RFC 3032 2.1) in front of packet, bottom of stack on the last."""
    out = b""
    for index, (label, tc, ttl) in enumerate(labels):
        bottom = 1 if index == len(labels) - 1 else 0
        out += struct.pack("!I", label << 12 | tc << 9 | bottom << 8 | ttl)
    return out + packet


MACS = bytes([2, 0, 0, 0, 0, 2, 2, 0, 0, 0, 0, 1])


def ethertype_of(v6):
    return 0x86DD if v6 else 0x0800


def tagged(packet, tags, v6=False):
    out = MACS
    for index, tpid in enumerate(tags):
        out += struct.pack("!HH", tpid, 100 + index)
    return out + struct.pack("!H", ethertype_of(v6)) + packet


def ethernet_mpls(packet, v6=False):
    return MACS + struct.pack("!H", 0x8847) + mpls(packet)


def pppoe(packet, v6=False):
    return struct.pack("!BBHHH", 0x11, 0, 0x1234, len(packet) + 2, 0x57 if v6 else 0x21) + packet


def ppp_hdlc(packet, v6=False):
    return bytes([0xFF, 0x03]) + struct.pack("!H", 0x57 if v6 else 0x21) + packet


def chdlc(packet, v6=False):
    return bytes([0x0F, 0x00]) + struct.pack("!H", ethertype_of(v6)) + packet


def null_family(packet, v6=False, big=False, inet6=30):
    return struct.pack(">I" if big else "<I", inet6 if v6 else 2) + packet


def flows(v6=False):
    make, a, b = (ipv6_echo, V6_A, V6_B) if v6 else (ipv4_echo, V4_A, V4_B)
    request, reply = (128, 129) if v6 else (8, 0)
    packets = []
    for seq in range(3):
        packets.append((seq * 1_000_000_000, make(a, b, request, 0x1234, seq)))
        if seq != 1:  # one request is lost
            packets.append((seq * 1_000_000_000 + 1_500_000, make(b, a, reply, 0x1234, seq)))
    return packets


def ipv4(proto, ttl, src, dst, body, ident=1):
    header = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(body), ident, 0, ttl, proto, 0, bytes(src), bytes(dst))
    return header[:10] + struct.pack("!H", checksum(header)) + header[12:] + body


def trace_flow():
    """A traceroute (issue 18): UDP probes at TTL 1-3, a time exceeded with an RFC 4950 MPLS
    label (RFC 4884 extension), one lost probe, and the destination's port unreachable."""
    packets = []
    for ttl in (1, 2, 3):
        probe = ipv4(17, ttl, V4_A, V4_B, struct.pack("!HHHH", 40000, 33433 + ttl, 32, 0) + bytes(24), ident=0x100 + ttl)
        packets.append((ttl * 1_000_000, probe))
        if ttl == 2:
            continue
        quote = bytearray(probe[:28])
        if ttl == 1:
            quote[8] = 1
            entry = 24001 << 12 | 1 << 8 | 1
            ext = bytearray(struct.pack("!BBHHBBI", 0x20, 0, 0, 8, 1, 1, entry))
            ext[2:4] = struct.pack("!H", checksum(bytes(ext)))
            icmp = bytearray(struct.pack("!BBHBBH", 11, 0, 0, 0, 32, 0)) + quote + bytes(128 - len(quote)) + ext
            sender = [10, 99, 1, 2]
        else:
            icmp = bytearray(struct.pack("!BBHI", 3, 3, 0, 0)) + quote
            sender = V4_B
        icmp[2:4] = struct.pack("!H", checksum(bytes(icmp)))
        packets.append((ttl * 1_000_000 + 200_000, ipv4(1, 64, sender, V4_A, bytes(icmp))))
    return packets


def pcap(frames, linktype, nano=False, big=False, base_ns=1_700_000_000 * 10**9):
    order = ">" if big else "<"
    magic = 0xA1B23C4D if nano else 0xA1B2C3D4
    out = struct.pack(order + "IHHiIII", magic, 2, 4, 0, 0, 65535, linktype)
    for offset, frame in frames:
        ns = base_ns + offset
        seconds, fraction = divmod(ns, 10**9)
        out += struct.pack(order + "IIII", seconds & 0xFFFFFFFF, fraction if nano else fraction // 1000, len(frame), len(frame)) + frame
    return out


def pcapng(frames, linktype, tsresol=None, timestamps=None):
    def block(kind, body):
        body += bytes(-len(body) % 4)
        return struct.pack("<II", kind, 12 + len(body)) + body + struct.pack("<I", 12 + len(body))
    out = block(0x0A0D0D0A, struct.pack("<IHHq", 0x1A2B3C4D, 1, 0, -1))
    options = b""
    if tsresol is not None:
        options += struct.pack("<HHB3x", 9, 1, tsresol)
    options += struct.pack("<HH", 0, 0)
    out += block(1, struct.pack("<HHI", linktype, 0, 65535) + options)
    units = 10 ** (tsresol if tsresol is not None else 6)
    for index, (offset, frame) in enumerate(frames):
        if timestamps is not None:
            ts = timestamps[index]
        else:
            ts = (1_700_000_000 * 10**9 + offset) * units // 10**9
        out += block(6, struct.pack("<IIIII", 0, ts >> 32, ts & 0xFFFFFFFF, len(frame), len(frame)) + frame)
    return out


def main():
    os.makedirs(HERE, exist_ok=True)
    v4 = flows()
    v6 = flows(v6=True)
    seeds = {
        "pcap-usec-en10mb-v4": pcap([(t, ethernet(p)) for t, p in v4], 1),
        "pcap-nsec-en10mb-v6": pcap([(t, ethernet(p, True)) for t, p in v6], 1, nano=True),
        "pcap-usec-bigendian-raw-v4": pcap(v4, 101, big=True),
        "pcap-nsec-sll-v6": pcap([(t, sll(p, True)) for t, p in v6], 113, nano=True),
        "pcap-epoch-zero-v4": pcap(v4, 101, base_ns=0),
        "pcapng-usec-en10mb-v4": pcapng([(t, ethernet(p)) for t, p in v4], 1),
        "pcapng-nsec-raw-v6": pcapng(v6, 101, tsresol=9),
        "pcapng-seconds-raw-v4": pcapng(v4, 101, tsresol=0, timestamps=[1_700_000_000 + i for i in range(len(v4))]),
        # Past the last second int64 nanoseconds hold whole (9223372035 s, 2262-04-11): a request
        # there wrapped to a large negative time. Its reply at that last second is kept.
        "pcapng-nsec-edge-of-int64-v4": pcapng(v4[:2], 101, tsresol=9,
                                               timestamps=[9_223_372_037 * 10**9, 9_223_372_035 * 10**9]),
        "pcapng-seconds-max-v4": pcapng(v4[:2], 101, tsresol=0, timestamps=[2**64 - 1, 2**63 - 1]),
        "pcap-nsec-raw-trace-v4": pcap(trace_flow(), 101, nano=True),
    }
    # One capture per link type that carries IP, IPv4 and IPv6 (DLT numbers as pcap files
    # write them: LINKTYPE_*).
    per_link = {
        "en10mb-qinq": (1, lambda p, v6: tagged(p, [0x88A8, 0x8100], v6)),
        "en10mb-9100-stack": (1, lambda p, v6: tagged(p, [0x9100, 0x8100, 0x8100], v6)),
        "en10mb-mpls": (1, ethernet_mpls),
        "en10mb-pppoe": (1, lambda p, v6: MACS + struct.pack("!H", 0x8864) + pppoe(p, v6)),
        "null-little": (0, lambda p, v6: null_family(p, v6, inet6=28)),
        "null-big": (0, lambda p, v6: null_family(p, v6, big=True, inet6=24)),
        "loop": (108, lambda p, v6: null_family(p, v6, big=True, inet6=24)),
        "ppp": (9, ppp_hdlc),
        "ppp-acfc-pfc": (9, lambda p, v6: bytes([0x57 if v6 else 0x21]) + p),
        "ppp-hdlc": (50, ppp_hdlc),
        "ppp-with-dir": (204, lambda p, v6: bytes([1]) + ppp_hdlc(p, v6)),
        "ppp-ether": (51, pppoe),
        "c-hdlc": (104, chdlc),
        "c-hdlc-mpls": (104, lambda p, v6: bytes([0x0F, 0x00, 0x88, 0x47]) + mpls(p)),
        "mpls": (219, lambda p, v6: mpls(p)),
    }
    for name, (linktype, wrap) in per_link.items():
        seeds[f"pcap-nsec-{name}-v4"] = pcap([(t, wrap(p, False)) for t, p in v4], linktype, nano=True)
        seeds[f"pcapng-{name}-v6"] = pcapng([(t, wrap(p, True)) for t, p in v6], linktype, tsresol=9)
    # Refused at open (LINKTYPE_USB_LINUX): the error path.
    seeds["pcap-usb-linux-refused"] = pcap([(t, ethernet(p)) for t, p in v4], 189)
    for name, data in seeds.items():
        with open(os.path.join(HERE, name), "wb") as handle:
            handle.write(data)
    print(f"{len(seeds)} seeds in {HERE}")


if __name__ == "__main__":
    main()
