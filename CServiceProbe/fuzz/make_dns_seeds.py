#!/usr/bin/env python3
"""make_dns_seeds.py: real DNS responses for fuzz_dns_parse's corpus (CServiceProbe/fuzz/corpus/).

Starts dnsmasq on 127.0.0.1 (loopback only, a port of its own) serving example.net with every
everyday record type (A, AAAA, CNAME, MX, TXT, SRV, PTR, CAA) and an HTTPS record, then asks it
over UDP (with and without EDNS, so some answers come back truncated) and over TCP, where one
name's TXT records fill a 60 kB answer, the size only TCP carries (RFC 7766). Every response
is written as received. Needs dnsmasq; run as any user. Deterministic but for the message ids
and TTLs dnsmasq fills in.
"""
import os
import random
import socket
import struct
import subprocess
import sys
import time

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")
PORT = 53535


def name(text: str) -> bytes:
    return b"".join(bytes([len(part)]) + part.encode() for part in text.rstrip(".").split(".")) + b"\0"


def query(qname: str, qtype: int, edns: int | None, ident: int) -> bytes:
    header = struct.pack("!HHHHHH", ident, 0x0100, 1, 0, 0, 1 if edns else 0)
    message = header + name(qname) + struct.pack("!HH", qtype, 1)
    if edns:
        message += b"\0" + struct.pack("!HHIH", 41, edns, 0, 0)
    return message


def ask_udp(message: bytes) -> bytes:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(2)
        sock.sendto(message, ("127.0.0.1", PORT))
        return sock.recv(65535)


def ask_tcp(message: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", PORT), timeout=2) as sock:
        sock.sendall(struct.pack("!H", len(message)) + message)
        data = b""
        while len(data) < 2 or len(data) < 2 + struct.unpack("!H", data[:2])[0]:
            chunk = sock.recv(65535)
            if not chunk:
                break
            data += chunk
        return data[2:]


def main() -> int:
    random.seed(1)
    # HTTPS (type 65) rdata: priority 1, target ".", alpn=h2,h3 (key 1), port=443 (key 3).
    alpn = b"\x02h2\x02h3"
    https = struct.pack("!H", 1) + b"\0" + struct.pack("!HH", 1, len(alpn)) + alpn + struct.pack("!HHH", 3, 2, 443)
    chunk = "x" * 250
    big = [f"--txt-record=big.example.net,\"{i:04d}{chunk}\"" for i in range(235)]
    arguments = [
        "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null", "--no-resolv", "--no-hosts",
        f"--port={PORT}", "--listen-address=127.0.0.1", "--bind-interfaces", "--user=" + os.environ.get("USER", "root"),
        "--pid-file=", "--edns-packet-max=4096",
        "--host-record=example.net,192.0.2.1,2001:db8::1",
        "--host-record=mail.example.net,192.0.2.25",
        "--cname=www.example.net,example.net",
        "--mx-host=example.net,mail.example.net,10",
        "--txt-record=example.net,\"v=spf1 -all\",\"hello world\"",
        "--srv-host=_http._tcp.example.net,www.example.net,80,0,5",
        "--ptr-record=1.2.0.192.in-addr.arpa,example.net",
        "--caa-record=example.net,0,issue,letsencrypt.org",
        f"--dns-rr=example.net,65,{https.hex()}",
        "--local=/example.net/",
    ] + big
    server = subprocess.Popen(arguments, stderr=subprocess.PIPE)
    try:
        time.sleep(0.5)
        if server.poll() is not None:
            print(server.stderr.read().decode(), file=sys.stderr)
            return 1
        os.makedirs(HERE, exist_ok=True)
        asks = [
            ("a", "example.net", 1, 1232, "udp"), ("aaaa", "example.net", 28, 1232, "udp"),
            ("a-no-edns", "example.net", 1, None, "udp"), ("cname", "www.example.net", 1, 1232, "udp"),
            ("mx", "example.net", 15, 1232, "udp"), ("txt", "example.net", 16, 1232, "udp"),
            ("srv", "_http._tcp.example.net", 33, 1232, "udp"), ("ptr", "1.2.0.192.in-addr.arpa", 12, 1232, "udp"),
            ("caa", "example.net", 257, 1232, "udp"), ("https", "example.net", 65, 1232, "udp"),
            ("nxdomain", "nothing.example.net", 1, 1232, "udp"), ("any-type-99", "example.net", 99, 1232, "udp"),
            ("big-txt-truncated-udp", "big.example.net", 16, None, "udp"),
            ("big-txt-edns-4096-udp", "big.example.net", 16, 4096, "udp"),
            ("big-txt-tcp", "big.example.net", 16, None, "tcp"),
            ("mx-tcp", "example.net", 15, None, "tcp"),
        ]
        for label, qname, qtype, edns, transport in asks:
            message = query(qname, qtype, edns, random.getrandbits(16))
            answer = ask_tcp(message) if transport == "tcp" else ask_udp(message)
            with open(os.path.join(HERE, f"dns-{label}"), "wb") as handle:
                handle.write(answer)
            print(f"{label:24} {len(answer):6} bytes")
    finally:
        server.terminate()
        server.wait()
    return 0


if __name__ == "__main__":
    sys.exit(main())
