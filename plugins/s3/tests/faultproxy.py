#!/usr/bin/env python3
"""faultproxy.py - an HTTP proxy on loopback that injects faults between the
s3 plugin and a real S3 server (Python standard library only).

    faultproxy.py --upstream HOST:PORT --port-file FILE [--listen-port N]
                  [--tls-cert PEM --tls-key PEM]

With --tls-cert the proxy speaks HTTPS to its clients (TLS tests) and plain
HTTP to the upstream.

Requests are forwarded byte for byte (the Host header the client signed is
kept, so SigV4 signatures stay valid).  Faults are configured at run time
through control requests to the proxy itself:

    POST /__fault/rules   JSON list of rules (replaces the current ones)
    GET  /__fault/stats   JSON counters
    POST /__fault/down?seconds=N   reset every open connection and refuse
                          (reset) new ones for N seconds: "S3 died, came back"

A rule: {"method": "PUT", "query": "partNumber", "range": true,
         "skip": 0, "count": 1, "action": ..., ...} matches requests by
method, substring of the query string and presence of a Range header;
it lets `skip` matching requests through, then fires `count` times
(-1 = always).  Actions:
    reset_request   read `after_bytes` of the request body, then RST
    reset_response  forward, relay `after_bytes` of the response body, RST
    status          answer `status` with an S3 error document `code`
                    (and a Retry-After header if `retry_after` seconds)
    stall           read the request, answer nothing for `seconds`, close
    delay           wait `seconds`, then forward normally
"""
import argparse
import json
import socket
import socketserver
import struct
import sys
import threading
import time
import urllib.parse

LOCK = threading.Lock()
RULES = []
STATS = {"requests": 0, "kinds": {}, "fired": {}, "completed": {}}
DOWN_UNTIL = [0.0]
OPEN = set()
UPSTREAM = ("127.0.0.1", 0)


def rst(sock):
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.close()
    except OSError:
        pass


def kind(method, query, headers):
    if "partNumber" in query:
        return method + " part"
    if "range" in headers:
        return method + " range"
    if "uploads" in query:
        return method + " uploads"
    if "uploadId" in query:
        return method + " uploadId"
    return method


def match(method, query, headers):
    """returns the rule that fires for this request, or None"""
    with LOCK:
        for i, r in enumerate(RULES):
            if r.get("method") and r["method"] != method:
                continue
            if r.get("query") and r["query"] not in query:
                continue
            if "range" in r and bool(r["range"]) != ("range" in headers):
                continue
            r["_seen"] = r.get("_seen", 0) + 1
            if r["_seen"] <= r.get("skip", 0):
                continue
            if r.get("count", 1) >= 0 and r.get("_fired", 0) >= r.get("count", 1):
                continue
            r["_fired"] = r.get("_fired", 0) + 1
            STATS["fired"][str(i)] = STATS["fired"].get(str(i), 0) + 1
            return r
    return None


def read_head(f):
    lines = []
    while True:
        line = f.readline(65537)
        if not line:
            return None
        if line in (b"\r\n", b"\n"):
            return lines
        lines.append(line)


def parse_headers(lines):
    h = {}
    for l in lines[1:]:
        k, _, v = l.decode("latin-1").partition(":")
        h[k.strip().lower()] = v.strip()
    return h


def error_doc(status, code, retry_after=None):
    body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>%s</Code>"
            "<Message>injected by faultproxy</Message></Error>" % code).encode()
    reason = {503: "Service Unavailable", 500: "Internal Server Error",
              429: "Too Many Requests"}.get(status, "Error")
    extra = "Retry-After: %d\r\n" % retry_after if retry_after else ""
    return (("HTTP/1.1 %d %s\r\nContent-Type: application/xml\r\n%sContent-Length: %d\r\n\r\n"
             % (status, reason, extra, len(body))).encode() + body)


def relay_body(src, dst, length, limit=None):
    """copy `length` bytes; stop after `limit` bytes (returns False then)"""
    sent = 0
    while sent < length:
        n = min(65536, length - sent)
        if limit is not None:
            if sent >= limit:
                return False
            n = min(n, limit - sent)
        chunk = src.read(n)
        if not chunk:
            raise ConnectionError("short body")
        dst.sendall(chunk)
        sent += len(chunk)
    return True


def relay_chunked(src, dst):
    while True:
        line = src.readline(65537)
        if not line:
            raise ConnectionError("short chunked body")
        dst.sendall(line)
        size = int(line.split(b";")[0].strip() or b"0", 16)
        if size == 0:
            while True:
                t = src.readline(65537)
                dst.sendall(t)
                if t in (b"\r\n", b"\n", b""):
                    return
        relay_body(src, dst, size + 2)


class Handler(socketserver.StreamRequestHandler):
    def setup(self):
        super().setup()
        with LOCK:
            OPEN.add(self.request)

    def finish(self):
        with LOCK:
            OPEN.discard(self.request)
        try:
            super().finish()
        except OSError:
            pass

    def handle(self):
        try:
            while self.one():
                pass
        except (OSError, ConnectionError, ValueError):
            rst(self.request)

    def control(self, method, target, body):
        u = urllib.parse.urlsplit(target)
        out = b"{}"
        if u.path == "/__fault/rules" and method == "POST":
            rules = json.loads(body or b"[]")
            with LOCK:
                RULES[:] = rules
                STATS["fired"].clear()
        elif u.path == "/__fault/stats":
            with LOCK:
                out = json.dumps(STATS).encode()
        elif u.path == "/__fault/reset-stats":
            with LOCK:
                STATS.update({"requests": 0, "kinds": {}, "fired": {}, "completed": {}})
        elif u.path == "/__fault/down":
            secs = float(urllib.parse.parse_qs(u.query).get("seconds", ["3"])[0])
            DOWN_UNTIL[0] = time.time() + secs
            with LOCK:
                victims = [s for s in OPEN if s is not self.request]
            for s in victims:
                rst(s)
        self.wfile.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                         b"Content-Length: %d\r\n\r\n" % len(out) + out)
        self.wfile.flush()

    def one(self):
        lines = read_head(self.rfile)
        if not lines:
            return False
        method, target, _ = lines[0].decode("latin-1").split(" ", 2)
        headers = parse_headers(lines)
        length = int(headers.get("content-length", "0") or 0)
        query = urllib.parse.urlsplit(target).query
        if target.startswith("/__fault/"):
            self.control(method, target, self.rfile.read(length) if length else b"")
            return True
        if time.time() < DOWN_UNTIL[0]:
            rst(self.request)
            return False
        k = kind(method, query, headers)
        with LOCK:
            STATS["requests"] += 1
            STATS["kinds"][k] = STATS["kinds"].get(k, 0) + 1
        rule = match(method, query, headers)
        action = rule.get("action") if rule else None
        if action == "reset_request":
            limit = min(rule.get("after_bytes", 0), length)
            if limit:
                self.rfile.read(limit)
            rst(self.request)
            return False
        if action in ("status", "stall"):
            if length:
                relay_body(self.rfile, _Null(), length)
            if action == "stall":
                time.sleep(rule.get("seconds", 30))
                rst(self.request)
                return False
            self.wfile.write(error_doc(rule.get("status", 503), rule.get("code", "SlowDown"),
                                       rule.get("retry_after")))
            self.wfile.flush()
            return True
        if action == "delay":
            time.sleep(rule.get("seconds", 1))

        up = socket.create_connection(UPSTREAM, timeout=120)
        try:
            up.sendall(b"".join(lines) + b"\r\n")
            if length:
                relay_body(self.rfile, up, length)
            uf = up.makefile("rb")
            rlines = read_head(uf)
            if not rlines:
                raise ConnectionError("upstream closed")
            status = int(rlines[0].split()[1])
            rh = parse_headers(rlines)
            self.request.sendall(b"".join(rlines) + b"\r\n")
            limit = rule.get("after_bytes", 0) if action == "reset_response" else None
            if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
                pass
            elif "content-length" in rh:
                if not relay_body(uf, self.request, int(rh["content-length"]), limit):
                    rst(self.request)
                    return False
            elif rh.get("transfer-encoding", "").lower() == "chunked":
                relay_chunked(uf, self.request)
            else:
                while True:
                    chunk = uf.read(65536)
                    if not chunk:
                        break
                    self.request.sendall(chunk)
                return False
            if action == "reset_response":
                rst(self.request)
                return False
            with LOCK:
                STATS["completed"][k] = STATS["completed"].get(k, 0) + 1
            return rh.get("connection", "").lower() != "close"
        finally:
            up.close()


class _Null:
    def sendall(self, b):
        pass


class Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    tls = None

    def get_request(self):
        sock, addr = super().get_request()
        if self.tls:
            # handshake in the handler's thread, on first read
            sock = self.tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        return sock, addr


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--upstream", required=True)
    ap.add_argument("--listen-port", type=int, default=0)
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    a = ap.parse_args()
    host, _, port = a.upstream.rpartition(":")
    globals()["UPSTREAM"] = (host, int(port))
    srv = Server(("127.0.0.1", a.listen_port), Handler)
    if a.tls_cert:
        import ssl
        srv.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        srv.tls.load_cert_chain(a.tls_cert, a.tls_key)
    with open(a.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    import os
    os.rename(a.port_file + ".tmp", a.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
