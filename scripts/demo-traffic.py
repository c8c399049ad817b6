#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0
"""Real TCP traffic for the tcptrace demo, on loopback: a server and
clients that open, exchange a line and close (each side closing first in
turn, over IPv4 and IPv6), a refused connect, and a reset."""

import socket
import struct
import time


def exchange(family, addr, client_closes_first):
    with socket.socket(family) as listener:
        listener.bind((addr, 0))
        listener.listen()
        client = socket.create_connection(listener.getsockname()[:2])
        server, _ = listener.accept()
        client.sendall(b"ping\n")
        server.recv(16)
        server.sendall(b"pong\n")
        client.recv(16)
        first, second = (client, server) if client_closes_first else (server, client)
        first.close()
        time.sleep(0.05)       # let the FIN arrive before the second close
        second.close()


def refused():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]      # bound, not listening: nobody answers
    try:
        socket.create_connection(("127.0.0.1", port))
    except ConnectionRefusedError:
        pass


def reset():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        client = socket.create_connection(listener.getsockname())
        server, _ = listener.accept()
        # SO_LINGER {on, 0 s}: close() sends RST instead of FIN.
        client.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        client.close()
        time.sleep(0.05)
        server.close()


exchange(socket.AF_INET, "127.0.0.1", client_closes_first=True)
exchange(socket.AF_INET, "127.0.0.1", client_closes_first=False)
exchange(socket.AF_INET6, "::1", client_closes_first=True)
refused()
reset()
time.sleep(0.2)
