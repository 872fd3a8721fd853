#!/usr/bin/env python3
"""s3util.py - a tiny independent S3 client for the s3 plugin's tests.

Python standard library only; SigV4 written separately from lib/sigv4.c so
the tests do not check the plugin with its own signer.  Reads S3_ENDPOINT,
S3_REGION, S3_ACCESS_KEY, S3_SECRET_KEY from the environment.

    s3util.py mkbucket BUCKET
    s3util.py uploads BUCKET [PREFIX]      in-progress multipart uploads (count)
    s3util.py abort-uploads BUCKET [PREFIX]
    s3util.py ls BUCKET [PREFIX]           keys, one per line
    s3util.py put-many BUCKET PREFIX N     N tiny objects PREFIX000000..
    s3util.py put-artifacts BUCKET PREFIX N  N tiny PREFIX<UTC timestamp>.envsync
    s3util.py rm-prefix BUCKET PREFIX
    s3util.py rmbucket BUCKET
    s3util.py etag BUCKET KEY              the object's ETag (multipart: "md5-N")
"""
import datetime
import hashlib
import hmac
import os
import sys
import time
import urllib.parse
import http.client
import xml.etree.ElementTree as ET

EMPTY = hashlib.sha256(b"").hexdigest()


def q(s, safe=""):
    return urllib.parse.quote(s, safe="-_.~" + safe)


class S3:
    def __init__(self):
        ep = urllib.parse.urlsplit(os.environ["S3_ENDPOINT"])
        self.host = ep.netloc
        self.https = ep.scheme == "https"
        self.region = os.environ.get("S3_REGION", "us-east-1")
        self.ak = os.environ["S3_ACCESS_KEY"]
        self.sk = os.environ["S3_SECRET_KEY"]
        self.conn = None
        self.last_headers = {}

    def _conn(self):
        if self.conn is None:
            cls = http.client.HTTPSConnection if self.https else http.client.HTTPConnection
            self.conn = cls(self.host, timeout=60)
        return self.conn

    def request(self, method, bucket, key="", params=None, body=b""):
        params = params or {}
        path = "/" + bucket + ("/" + q(key, "/") if key else "")
        query = "&".join("%s=%s" % (q(k), q(v)) for k, v in sorted(params.items()))
        now = datetime.datetime.now(datetime.timezone.utc)
        amz = now.strftime("%Y%m%dT%H%M%SZ")
        day = amz[:8]
        ph = hashlib.sha256(body).hexdigest()
        hdrs = {"host": self.host, "x-amz-date": amz, "x-amz-content-sha256": ph}
        names = sorted(hdrs)
        creq = "\n".join([method, path, query] + ["%s:%s" % (n, hdrs[n]) for n in names]
                         + ["", ";".join(names), ph])
        scope = "%s/%s/s3/aws4_request" % (day, self.region)
        sts = "\n".join(["AWS4-HMAC-SHA256", amz, scope,
                         hashlib.sha256(creq.encode()).hexdigest()])
        k = ("AWS4" + self.sk).encode()
        for part in (day, self.region, "s3", "aws4_request"):
            k = hmac.new(k, part.encode(), hashlib.sha256).digest()
        sig = hmac.new(k, sts.encode(), hashlib.sha256).hexdigest()
        hdrs["authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, "
                                 "Signature=%s" % (self.ak, scope, ";".join(names), sig))
        url = path + ("?" + query if query else "")
        for attempt in range(8):
            try:
                c = self._conn()
                c.request(method, url, body=body, headers=hdrs)
                r = c.getresponse()
                data = r.read()
                self.last_headers = {k.lower(): v for k, v in r.getheaders()}
                if r.status in (500, 503) and attempt < 7:
                    raise ConnectionError("HTTP %d" % r.status)
                return r.status, data
            except (OSError, http.client.HTTPException):
                self.conn = None
                if attempt == 7:
                    raise
                time.sleep(0.2 * (attempt + 1))
        raise RuntimeError("unreachable")


def strip(tag):
    return tag.rsplit("}", 1)[-1]


def children(el, name):
    return [c for c in el if strip(c.tag) == name]


def text(el, name):
    for c in el:
        if strip(c.tag) == name:
            return c.text or ""
    return None


def list_keys(s3, bucket, prefix=""):
    token = None
    keys = []
    while True:
        p = {"list-type": "2", "prefix": prefix}
        if token:
            p["continuation-token"] = token
        st, data = s3.request("GET", bucket, params=p)
        if st != 200:
            raise SystemExit("list: HTTP %d %s" % (st, data[:300]))
        root = ET.fromstring(data)
        keys += [text(c, "Key") for c in children(root, "Contents")]
        if text(root, "IsTruncated") != "true":
            return keys
        token = text(root, "NextContinuationToken")


def list_uploads(s3, bucket, prefix=""):
    st, data = s3.request("GET", bucket, params={"uploads": "", "prefix": prefix})
    if st != 200:
        raise SystemExit("list uploads: HTTP %d %s" % (st, data[:300]))
    root = ET.fromstring(data)
    return [(text(u, "Key"), text(u, "UploadId")) for u in children(root, "Upload")]


def on_all(keys, bucket, method, threads=4):
    import threading
    errors = []

    def run(part):
        s3 = S3()
        for k in part:
            try:
                st, data = s3.request(method, bucket, k,
                                      body=k.encode() if method == "PUT" else b"")
            except Exception as e:      # noqa: BLE001 - reported below
                errors.append("%s %s: %s" % (method, k, e))
                return
            if st >= 300 and st != 404:
                errors.append("put %s: HTTP %d %s" % (k, st, data[:300]))
                return
    ts = [threading.Thread(target=run, args=(keys[i::threads],)) for i in range(threads)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise SystemExit(errors[0])


def main(argv):
    s3 = S3()
    cmd, bucket = argv[1], argv[2]
    rest = argv[3:]
    if cmd == "mkbucket":
        st, data = s3.request("PUT", bucket)
        if st not in (200, 409):
            raise SystemExit("mkbucket: HTTP %d %s" % (st, data[:300]))
    elif cmd == "uploads":
        print(len(list_uploads(s3, bucket, rest[0] if rest else "")))
    elif cmd == "abort-uploads":
        for key, uid in list_uploads(s3, bucket, rest[0] if rest else ""):
            s3.request("DELETE", bucket, key, {"uploadId": uid})
    elif cmd == "ls":
        for k in list_keys(s3, bucket, rest[0] if rest else ""):
            print(k)
    elif cmd in ("put-many", "put-artifacts"):
        prefix, n = rest[0], int(rest[1])
        base = datetime.datetime(2020, 1, 1, tzinfo=datetime.timezone.utc)
        if cmd == "put-many":
            keys = ["%s%06d" % (prefix, i) for i in range(n)]
        else:
            keys = ["%s%s.envsync" % (prefix, (base + datetime.timedelta(seconds=i))
                                      .strftime("%Y%m%dT%H%M%SZ")) for i in range(n)]
        on_all(keys, bucket, "PUT")
    elif cmd == "etag":
        st, data = s3.request("HEAD", bucket, rest[0])
        if st != 200:
            raise SystemExit("head: HTTP %d" % st)
        print(s3.last_headers.get("etag", "").strip('"'))
    elif cmd == "rmbucket":
        st, data = s3.request("DELETE", bucket)
        if st not in (204, 404):
            raise SystemExit("rmbucket: HTTP %d %s" % (st, data[:300]))
    elif cmd == "rm-prefix":
        on_all(list_keys(s3, bucket, rest[0]), bucket, "DELETE")
    else:
        raise SystemExit("unknown command " + cmd)


if __name__ == "__main__":
    main(sys.argv)
