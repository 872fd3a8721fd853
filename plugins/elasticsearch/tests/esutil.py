#!/usr/bin/env python3
"""esutil.py - helpers for the elasticsearch plugin tests and benchmark.

  esutil.py seed URL                 create the fidelity data set
  esutil.py dump URL NAME...         canonical JSON of indices reached by NAME
                                     (settings minus identity, mappings,
                                     aliases, documents sorted by _id)
  esutil.py corpus URL INDEX N       bulk-load N generated documents of mixed
                                     sizes (benchmark corpus)
  esutil.py watch URL ALIAS FILE [READY]
                                     count ALIAS until FILE exists; prints
                                     every distinct (status, count) seen;
                                     creates READY after the first answer
  esutil.py req METHOD URL [BODY]    one request, prints status and body
Standard library only.
"""

import json
import random
import sys
import time
import urllib.error
import urllib.request


def req(method, url, body=None, ctype="application/json"):
    data = None
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = urllib.request.Request(url, data=data, method=method)
    if data is not None:
        r.add_header("Content-Type", ctype)
    try:
        with urllib.request.urlopen(r, timeout=60) as resp:
            raw = resp.read()
            return resp.status, json.loads(raw) if raw else None
    except urllib.error.HTTPError as e:
        raw = e.read()
        try:
            return e.code, json.loads(raw)
        except ValueError:
            return e.code, raw.decode(errors="replace")


def must(method, url, body=None, ctype="application/json"):
    st, out = req(method, url, body, ctype)
    if st >= 300:
        sys.exit("esutil: %s %s -> %d %s" % (method, url, st, out))
    return out


def flavor(url):
    v = must("GET", url + "/")["version"]
    major = int(v["number"].split(".")[0])
    return v.get("distribution") == "opensearch", major


def bulk(url, lines):
    body = ("\n".join(json.dumps(x, ensure_ascii=False) for x in lines) + "\n").encode()
    out = must("POST", url + "/_bulk", body, "application/x-ndjson")
    if out["errors"]:
        sys.exit("esutil: bulk errors: %s" % [i for i in out["items"] if list(i.values())[0]["status"] >= 300][:3])


def seed(url):
    os_, major = flavor(url)
    es6 = not os_ and major == 6

    def mappings(m, tname="_doc"):
        return {tname: m} if es6 else m

    books_map = {
        "dynamic": "strict",
        "_routing": {"required": False},
        "properties": {
            "title": {"type": "text", "analyzer": "folding",
                      "fields": {"raw": {"type": "keyword", "ignore_above": 256}}},
            "isbn": {"type": "keyword"},
            "pages": {"type": "integer"},
            "price": {"type": "scaled_float", "scaling_factor": 100},
            "ratio": {"type": "double"},
            "big": {"type": "long"},
            "published": {"type": "date", "format": "strict_date_optional_time||epoch_millis"},
            "available": {"type": "boolean"},
            "tags": {"type": "keyword"},
            "author": {"properties": {"name": {"type": "text"}, "born": {"type": "date"}}},
            "chapters": {"type": "nested", "properties": {"n": {"type": "integer"}, "t": {"type": "text"}}},
            "location": {"type": "geo_point"},
            "ip": {"type": "ip"},
        }}
    settings = {"index": {"number_of_shards": 2, "number_of_replicas": 1, "refresh_interval": "5s",
                          "max_result_window": 20000,
                          "analysis": {"analyzer": {"folding": {"type": "custom", "tokenizer": "standard",
                                                                "filter": ["lowercase", "asciifolding"]}}}}}
    must("PUT", url + "/books-v1", {
        "settings": settings, "mappings": mappings(books_map, "book" if es6 else "_doc"),
        "aliases": {"books": {"is_write_index": True},
                    "cheap-books": {"filter": {"range": {"price": {"lte": 10}}}},
                    "routed": {"routing": "r1"}}})
    must("PUT", url + "/logs", {"settings": {"number_of_shards": 1}})   # dynamic mapping only
    must("PUT", url + "/empty", {"settings": {"number_of_shards": 1},
                                 "mappings": mappings({"properties": {"x": {"type": "keyword"}}})})
    must("PUT", url + "/.internal", {"settings": {"number_of_shards": 1}})
    if not es6:
        must("PUT", url + "/hidden-one", {"settings": {"index.hidden": True}})
    tname = "book" if es6 else None
    rnd = random.Random(7)
    lines = []
    for i in range(1, 1201):
        meta = {"_index": "books-v1", "_id": "b%05d" % i}
        if tname:
            meta["_type"] = tname
        if i % 7 == 0:
            meta["routing"] = "r%d" % (i % 3)
        doc = {"title": "Título %d «quoted» \"x\" \\ tab\t nl\n 😀" % i,
               "isbn": "978-%010d" % i, "pages": rnd.randint(1, 2000),
               "price": round(rnd.random() * 50, 2), "ratio": 0.1 * i,
               "big": 9007199254740993 + i,
               "published": "20%02d-01-%02dT10:00:00Z" % (i % 24, 1 + i % 28),
               "available": i % 2 == 0, "tags": ["t%d" % (i % 5), "all"],
               "author": {"name": "Author %d" % (i % 50), "born": "1970-01-01"},
               "chapters": [{"n": k, "t": "chapter %d" % k} for k in range(i % 4)],
               "location": {"lat": 51.5 + i / 10000.0, "lon": -0.12},
               "ip": "10.0.%d.%d" % (i // 256 % 256, i % 256)}
        if i % 11 == 0:
            doc["pages"] = None
        lines += [{"index": meta}, doc]
    bulk(url, lines)
    lines = []
    for i in range(1, 301):
        meta = {"_index": "logs", "_id": "l%d" % i}
        if tname:
            meta["_type"] = "_doc"
        lines += [{"index": meta}, {"msg": "line %d" % i, "n": i, "f": i / 3.0, "nested": {"a": [1, 2, 3]}}]
    bulk(url, lines)
    bulk(url, [{"index": {"_index": ".internal", "_id": "1", **({"_type": "_doc"} if tname else {})}}, {"a": 1}])
    must("POST", url + "/_refresh")


def scan(url, name):
    docs = {}
    st, out = req("POST", url + "/%s/_search?scroll=1m" % name, {"size": 500, "sort": ["_doc"]})
    if st != 200:
        sys.exit("esutil: scan %s: %d %s" % (name, st, out))
    while out["hits"]["hits"]:
        for h in out["hits"]["hits"]:
            docs[h["_id"]] = {"_routing": h.get("_routing"), "_source": h["_source"]}
        out = must("POST", url + "/_search/scroll", {"scroll": "1m", "scroll_id": out["_scroll_id"]})
    req("DELETE", url + "/_search/scroll", {"scroll_id": [out["_scroll_id"]]})
    return docs


DROP = ("index.uuid", "index.creation_date", "index.version.created", "index.provided_name",
        "index.version.upgraded")


def dump(url, names):
    os_, major = flavor(url)
    out = {}
    for name in names:
        info = must("GET", url + "/%s?flat_settings=true" % name)
        for concrete, ix in sorted(info.items()):
            s = {k: v for k, v in ix["settings"].items() if k not in DROP}
            m = ix["mappings"]
            if not os_ and major == 6 and len(m) == 1:
                m = list(m.values())[0]
            out[name] = {"settings": s, "mappings": m,
                         "aliases": ix["aliases"], "docs": scan(url, concrete),
                         "count": must("GET", url + "/%s/_count" % name)["count"]}
            # the alias named like the original is the swap's own doing
            out[name]["aliases"].pop(name, None)
    print(json.dumps(out, sort_keys=True, indent=1, ensure_ascii=False))


def corpus(url, index, n):
    os_, major = flavor(url)
    tname = {"_type": "_doc"} if (not os_ and major == 6) else {}
    rnd = random.Random(42)
    words = ["alpha", "beta", "gamma", "delta", "épsilon", "zeta", "eta", "theta", "iota", "kappa"]
    st, _ = req("PUT", url + "/" + index, {"settings": {"number_of_shards": 1, "refresh_interval": "-1"}})
    batch = []
    for i in range(n):
        r = rnd.random()
        size = 5 if r < 0.6 else 40 if r < 0.9 else 300 if r < 0.99 else 2000
        doc = {"id": i, "name": "doc %d" % i, "score": rnd.random(), "ts": "2024-01-01T00:00:00Z",
               "tags": rnd.sample(words, 3), "body": " ".join(rnd.choice(words) for _ in range(size))}
        batch += [{"index": dict(_index=index, _id=str(i), **tname)}, doc]
        if len(batch) >= 4000:
            bulk(url, batch)
            batch = []
    if batch:
        bulk(url, batch)
    must("PUT", url + "/%s/_settings" % index, {"index": {"refresh_interval": "1s"}})
    must("POST", url + "/%s/_refresh" % index)


def watch(url, alias, stopfile, readyfile=None):
    import os
    seen = {}
    while not os.path.exists(stopfile):
        st, out = req("GET", url + "/%s/_count" % alias)
        key = "%d %s" % (st, out.get("count") if isinstance(out, dict) and st == 200 else
                         (out.get("error", {}).get("type") if isinstance(out, dict) and isinstance(out.get("error"), dict) else out))
        seen[key] = seen.get(key, 0) + 1
        if readyfile and not os.path.exists(readyfile):
            open(readyfile, "w").close()   # the first answer is in
        time.sleep(0.002)
    for k in seen:  # in the order first seen
        print(k)


def main():
    cmd = sys.argv[1]
    if cmd == "seed":
        seed(sys.argv[2])
    elif cmd == "dump":
        dump(sys.argv[2], sys.argv[3:])
    elif cmd == "corpus":
        corpus(sys.argv[2], sys.argv[3], int(sys.argv[4]))
    elif cmd == "watch":
        watch(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5] if len(sys.argv) > 5 else None)
    elif cmd == "req":
        body = json.loads(sys.argv[4]) if len(sys.argv) > 4 else None
        st, out = req(sys.argv[2], sys.argv[3], body)
        print(st, json.dumps(out))
    else:
        sys.exit("esutil: unknown command " + cmd)


if __name__ == "__main__":
    main()
