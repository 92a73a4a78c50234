#!/usr/bin/env python3
"""Serves a directory over HTTP on 127.0.0.1 for the benchmarks.

Like `python3 -m http.server`, with one thread per connection, but with a listen backlog of
128 instead of 5: rflake fetches up to `http-connections` inputs at once, and with a backlog of
5 the kernel drops the extra connection requests, which then wait for TCP's 1-second SYN
retransmission. The server must not be what is measured.

Usage: serve.py PORT DIRECTORY [--keep-alive]

With --keep-alive the server speaks HTTP/1.1 and keeps connections open between requests, as
binary cache servers do (both curl in Nix and rflake's client reuse connections).
"""
import functools
import http.server
import sys


class Server(http.server.ThreadingHTTPServer):
    request_queue_size = 128
    daemon_threads = True


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


class KeepAlive(Quiet):
    protocol_version = "HTTP/1.1"
    # Headers and body are written separately: without TCP_NODELAY each response of a kept
    # connection waits for the client's delayed ACK (40 ms).
    disable_nagle_algorithm = True


port, directory = int(sys.argv[1]), sys.argv[2]
kind = KeepAlive if "--keep-alive" in sys.argv[3:] else Quiet
handler = functools.partial(kind, directory=directory)
Server(("127.0.0.1", port), handler).serve_forever()
