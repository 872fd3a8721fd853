#!/usr/bin/env python3
"""fake_aws.py - local stand-ins for the cloud-only credential endpoints
(STS AssumeRoleWithWebIdentity, the container credentials endpoint, EC2
IMDSv2), for the s3 plugin's credential tests.  Python standard library.

    fake_aws.py --port-file F --access-key AK --secret-key SK
                [--session-token T] [--lifetime SECONDS]
                [--web-token TOKEN] [--auth-token TOKEN]

Every endpoint hands out the given (real, test-server) keys with an
Expiration `lifetime` seconds ahead, and counts what it served:

    POST /sts/         Action=AssumeRoleWithWebIdentity (form body); the
                       WebIdentityToken must equal --web-token
    GET  /creds        container endpoint; Authorization must equal
                       --auth-token when given
    PUT  /latest/api/token                              IMDSv2 session token
    GET  /latest/meta-data/iam/security-credentials/    role name
    GET  /latest/meta-data/iam/security-credentials/ROLE
    GET  /__stats      JSON counters
"""
import argparse
import datetime
import http.server
import json
import os
import socketserver
import sys
import threading
import urllib.parse

A = None
LOCK = threading.Lock()
STATS = {"sts": 0, "container": 0, "imds_token": 0, "imds_role": 0, "imds_creds": 0,
         "rejected": 0}
IMDS_TOKEN = "imds-session-token-0123456789"
ROLE = "envsync-test-role"


def count(k):
    with LOCK:
        STATS[k] += 1


def expiration():
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=A.lifetime)
    return t.strftime("%Y-%m-%dT%H:%M:%SZ")


class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        pass

    def send(self, status, body, ctype="application/json"):
        if isinstance(body, str):
            body = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(n) if n else b""

    def creds_json(self, code=False):
        d = {"AccessKeyId": A.access_key, "SecretAccessKey": A.secret_key,
             "Expiration": expiration()}
        if A.session_token:
            d["Token"] = A.session_token
        if code:
            d.update({"Code": "Success", "Type": "AWS-HMAC",
                      "LastUpdated": expiration()})
        return json.dumps(d)

    def do_POST(self):
        body = self.body()
        if self.path.startswith("/sts"):
            form = urllib.parse.parse_qs(body.decode())
            if (form.get("Action") != ["AssumeRoleWithWebIdentity"]
                    or not form.get("RoleArn")
                    or form.get("WebIdentityToken") != [A.web_token]):
                count("rejected")
                return self.send(400, "<ErrorResponse><Error><Code>InvalidIdentityToken"
                                 "</Code><Message>bad token</Message></Error></ErrorResponse>",
                                 "text/xml")
            count("sts")
            tok = "<SessionToken>%s</SessionToken>" % A.session_token if A.session_token else ""
            xml = ("<AssumeRoleWithWebIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/"
                   "2011-06-15/\"><AssumeRoleWithWebIdentityResult><Credentials>"
                   "<AccessKeyId>%s</AccessKeyId><SecretAccessKey>%s</SecretAccessKey>%s"
                   "<Expiration>%s</Expiration></Credentials></AssumeRoleWithWebIdentityResult>"
                   "</AssumeRoleWithWebIdentityResponse>"
                   % (A.access_key, A.secret_key, tok, expiration()))
            return self.send(200, xml, "text/xml")
        self.send(404, "{}")

    def do_PUT(self):
        self.body()
        if self.path == "/latest/api/token":
            if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                count("rejected")
                return self.send(400, "missing ttl", "text/plain")
            count("imds_token")
            return self.send(200, IMDS_TOKEN, "text/plain")
        self.send(404, "{}")

    def do_GET(self):
        if self.path == "/__stats":
            with LOCK:
                return self.send(200, json.dumps(STATS))
        if self.path == "/creds":
            if A.auth_token and self.headers.get("Authorization") != A.auth_token:
                count("rejected")
                return self.send(401, '{"message":"bad authorization"}')
            count("container")
            return self.send(200, self.creds_json())
        base = "/latest/meta-data/iam/security-credentials/"
        if self.path.startswith(base):
            if self.headers.get("X-aws-ec2-metadata-token") != IMDS_TOKEN:
                count("rejected")
                return self.send(401, "", "text/plain")
            if self.path == base:
                count("imds_role")
                return self.send(200, ROLE + "\n", "text/plain")
            if self.path == base + ROLE:
                count("imds_creds")
                return self.send(200, self.creds_json(code=True))
        self.send(404, "{}")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def main():
    global A
    ap = argparse.ArgumentParser()
    ap.add_argument("--port-file", required=True)
    ap.add_argument("--access-key", required=True)
    ap.add_argument("--secret-key", required=True)
    ap.add_argument("--session-token", default="")
    ap.add_argument("--lifetime", type=int, default=3600)
    ap.add_argument("--web-token", default="web-identity-token-for-tests")
    ap.add_argument("--auth-token", default="")
    A = ap.parse_args()
    srv = Server(("127.0.0.1", 0), H)
    with open(A.port_file + ".tmp", "w") as f:
        f.write("%d\n" % srv.server_address[1])
    os.rename(A.port_file + ".tmp", A.port_file)
    srv.serve_forever()


if __name__ == "__main__":
    sys.exit(main())
