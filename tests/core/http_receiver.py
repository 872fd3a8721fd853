#!/usr/bin/env python3
"""A local HTTP receiver for the metrics and webhook tests.

It stands in for a Prometheus Pushgateway and for a webhook endpoint: it
records every request as one JSON line (method, path, content type, body)
and, like the Pushgateway, rejects a metrics push whose body is not valid
Prometheus text exposition format (HTTP 400 with the reason).  Test double
only: it implements the checks the tests rely on, nothing more.

usage: http_receiver.py PORTFILE LOGFILE
"""
import json
import re
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

NAME = r'[a-zA-Z_:][a-zA-Z0-9_:]*'
LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*"'
SAMPLE = re.compile(r'^(%s)(\{(%s(,%s)*)?\})? (-?[0-9.eE+-]+|NaN|\+Inf|-Inf)( -?[0-9]+)?$' % (NAME, LABEL, LABEL))
HELP = re.compile(r'^# HELP (%s) .*$' % NAME)
TYPE = re.compile(r'^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$' % NAME)


def check_exposition(text):
    """Return None if valid, else the reason (Pushgateway-like strictness)."""
    if text and not text.endswith('\n'):
        return 'body does not end with a newline'
    typed, seen_samples, families_done = {}, set(), set()
    current = None
    for n, line in enumerate(text.split('\n')[:-1], 1):
        if not line:
            continue
        m = TYPE.match(line)
        if m:
            if m.group(1) in typed:
                return 'line %d: second TYPE for %s' % (n, m.group(1))
            if m.group(1) in seen_samples:
                return 'line %d: TYPE after samples of %s' % (n, m.group(1))
            typed[m.group(1)] = m.group(2)
            continue
        if HELP.match(line) or line.startswith('# '):
            continue
        m = SAMPLE.match(line)
        if not m:
            return 'line %d: not a valid sample: %r' % (n, line)
        name = m.group(1)
        if name != current:
            if name in families_done:
                return 'line %d: samples of %s are not contiguous' % (n, name)
            if current:
                families_done.add(current)
            current = name
        seen_samples.add(name)
        labels = re.findall(r'([a-zA-Z_][a-zA-Z0-9_]*)="', m.group(3) or '')
        if len(labels) != len(set(labels)):
            return 'line %d: duplicate label' % n
        try:
            float(m.group(5))
        except ValueError:
            return 'line %d: bad value' % n
    return None


class Handler(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def handle_any(self):
        length = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(length).decode('utf-8', 'replace')
        ctype = self.headers.get('Content-Type', '')
        status, reason = 200, ''
        if self.path.startswith('/metrics/'):
            reason = check_exposition(body) or ''
            if reason:
                status = 400
        rec = {'method': self.command, 'path': self.path, 'content_type': ctype,
               'body': body, 'status': status, 'reason': reason}
        with open(self.server.logfile, 'a') as f:
            f.write(json.dumps(rec) + '\n')
        self.send_response(status)
        self.send_header('Content-Type', 'text/plain')
        self.send_header('Content-Length', str(len(reason)))
        self.end_headers()
        self.wfile.write(reason.encode())

    do_POST = do_PUT = do_GET = handle_any


def main():
    srv = ThreadingHTTPServer(('127.0.0.1', 0), Handler)
    srv.logfile = sys.argv[2]
    with open(sys.argv[1], 'w') as f:
        f.write(str(srv.server_address[1]))
    srv.serve_forever()


if __name__ == '__main__':
    main()
