#!/usr/bin/env python3
"""Serves a directory over HTTP on 127.0.0.1 for the benchmarks.

Like `python3 -m http.server`, with one thread per connection, but with a listen backlog of
128 instead of 5: rflake fetches up to `http-connections` inputs at once, and with a backlog of
5 the kernel drops the extra connection requests, which then wait for TCP's 1-second SYN
retransmission. The server must not be what is measured.

Usage: serve.py PORT DIRECTORY
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


port, directory = int(sys.argv[1]), sys.argv[2]
handler = functools.partial(Quiet, directory=directory)
Server(("127.0.0.1", port), handler).serve_forever()
