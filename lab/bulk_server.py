#!/usr/bin/env python3
"""bulk_server.py ADDR PORT: the far end of the bulk TCP flow that loads a path
(`isp-checker run --bufferbloat ADDR:PORT`, lab.sh bulk-server).

Every connection is a sink and a source at once: what the client sends is read
and thrown away (the client's upload), and zeros are sent to it without end
(its download). A client that only sends never reads, so the zeros stop at its
receive window; one that only reads sends nothing. The same as
`socat TCP-LISTEN:PORT,fork,reuseaddr SYSTEM:'cat /dev/zero & cat >/dev/null'`.
Prints "ready" once listening. Lab use only: it answers anyone who connects.
"""
import socket
import sys
import threading

CHUNK = 64 * 1024


def sink(conn):
    try:
        while conn.recv(CHUNK):
            pass
    except OSError:
        pass
    finally:
        try:
            conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


def source(conn):
    zeros = bytes(CHUNK)
    try:
        while True:
            conn.sendall(zeros)
    except OSError:
        pass
    finally:
        conn.close()


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: bulk_server.py ADDR PORT")
    addr, port = sys.argv[1], int(sys.argv[2])
    family = socket.AF_INET6 if ":" in addr else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as listener:
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind((addr, port))
        listener.listen(16)
        print("ready", flush=True)
        while True:
            conn, _ = listener.accept()
            # Loss-based congestion control, as most servers' (this machine's default is BBR,
            # which keeps queues short and so would hide a deep FIFO).
            try:
                conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_CONGESTION, b"cubic")
            except OSError:
                pass
            threading.Thread(target=sink, args=(conn,), daemon=True).start()
            threading.Thread(target=source, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()
