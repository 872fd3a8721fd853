#!/usr/bin/env python3
"""es_server.py - an Elasticsearch/OpenSearch REST API test double.

NOT Elasticsearch.  An in-memory imitation of the endpoints envsync's
elasticsearch plugin uses, with the real request validation, response
shapes, status codes and error bodies, for several server flavors, plus
fault injection (429 storms, dropped connections, failed bulk items,
expired scroll/PIT contexts, failed snapshots).  See README.md.

Python 3 standard library only.
"""

import argparse
import base64
import copy
import fnmatch
import hashlib
import hmac
import json
import os
import re
import signal
import socket
import ssl
import sys
import threading
import time
import uuid as uuidlib
import zlib
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, quote, unquote, urlsplit

FLAVORS = {
    "es6": {"number": "6.8.23", "distribution": None, "lucene": "7.7.3",
            "wire": "5.6.0", "index_compat": "5.0.0", "build_flavor": "default"},
    "es7": {"number": "7.17.15", "distribution": None, "lucene": "8.11.1",
            "wire": "6.8.0", "index_compat": "6.0.0-beta1", "build_flavor": "default"},
    "es8": {"number": "8.11.3", "distribution": None, "lucene": "9.8.0",
            "wire": "7.17.0", "index_compat": "7.0.0", "build_flavor": "default"},
    "opensearch1": {"number": "1.3.14", "distribution": "opensearch", "lucene": "8.10.1",
                    "wire": "6.8.0", "index_compat": "6.0.0-beta1"},
    "opensearch2": {"number": "2.11.1", "distribution": "opensearch", "lucene": "9.7.0",
                    "wire": "7.10.0", "index_compat": "7.0.0"},
}

KNOWN_TYPES = {
    "text", "keyword", "long", "integer", "short", "byte", "double", "float",
    "half_float", "scaled_float", "unsigned_long", "date", "date_nanos",
    "boolean", "binary", "object", "nested", "ip", "geo_point", "geo_shape",
    "completion", "alias", "search_as_you_type", "token_count", "rank_feature",
    "rank_features", "wildcard", "constant_keyword", "integer_range",
    "long_range", "float_range", "double_range", "date_range", "ip_range",
    "version", "match_only_text", "join", "percolator", "flattened",
    "dense_vector", "knn_vector", "flat_object",
}
INT_TYPES = {"long", "integer", "short", "byte", "unsigned_long"}
FLOAT_TYPES = {"double", "float", "half_float", "scaled_float"}

# index.* settings accepted at creation (prefix match for groups).
SETTING_PREFIXES = (
    "index.analysis.", "index.mapping.", "index.routing.", "index.blocks.",
    "index.sort.", "index.similarity.", "index.lifecycle.", "index.query.",
    "index.search.", "index.indexing.", "index.translog.", "index.merge.",
    "index.highlight.", "index.max_", "index.unassigned.", "index.shard.",
    "index.write.", "index.store.", "index.queries.", "index.knn",
    "index.plugins.", "index.soft_deletes.", "index.refresh_interval",
)
SETTING_NAMES = {
    "index.number_of_shards", "index.number_of_replicas", "index.hidden",
    "index.codec", "index.auto_expand_replicas", "index.number_of_routing_shards",
    "index.priority", "index.default_pipeline", "index.final_pipeline",
    "index.creation_date", "index.format", "index.load_fixed_bitset_filters_eagerly",
    "index.gc_deletes", "index.check_on_startup",
}
PRIVATE_SETTINGS = {"index.uuid", "index.version.created", "index.version.upgraded",
                    "index.provided_name", "index.resize.source.uuid",
                    "index.resize.source.name"}
STATIC_SETTINGS = {"index.number_of_shards", "index.codec", "index.number_of_routing_shards"}


class ESError(Exception):
    """A REST error rendered in Elasticsearch's error body format."""

    def __init__(self, status, etype, reason, index=None, extra=None, root=None):
        super().__init__(reason)
        self.status = status
        self.etype = etype
        self.reason = reason
        self.index = index
        self.extra = extra or {}
        self.root = root

    def body(self):
        cause = {"type": self.etype, "reason": self.reason}
        if self.index is not None:
            cause["index_uuid"] = "_na_"
            cause["index"] = self.index
        err = dict(cause)
        err.update(self.extra)
        err["root_cause"] = [self.root or cause]
        # root_cause first, as Elasticsearch prints it
        ordered = {"root_cause": err.pop("root_cause")}
        ordered.update(err)
        return {"error": ordered, "status": self.status}


def not_found(index):
    return ESError(404, "index_not_found_exception", "no such index [%s]" % index, index=index)


def parse_duration(text, what="keep_alive"):
    m = re.fullmatch(r"(\d+)(nanos|micros|ms|s|m|h|d)", str(text).strip())
    if not m:
        raise ESError(400, "illegal_argument_exception",
                      "failed to parse setting [%s] with value [%s] as a time value: "
                      "unit is missing or unrecognized" % (what, text))
    n = int(m.group(1))
    mult = {"nanos": 1e-9, "micros": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600, "d": 86400}
    return n * mult[m.group(2)]


def flatten(d, prefix=""):
    out = {}
    for k, v in d.items():
        key = prefix + k
        if isinstance(v, dict):
            out.update(flatten(v, key + "."))
        elif isinstance(v, list):
            out[key] = [str(x).lower() if isinstance(x, bool) else str(x) for x in v]
        elif v is None:
            out[key] = None
        elif isinstance(v, bool):
            out[key] = "true" if v else "false"
        else:
            out[key] = str(v)
    return out


def nest(flat):
    out = {}
    for k in sorted(flat):
        cur = out
        parts = k.split(".")
        for p in parts[:-1]:
            nxt = cur.get(p)
            if not isinstance(nxt, dict):
                nxt = {}
                cur[p] = nxt
            cur = nxt
        cur[parts[-1]] = flat[k]
    return out


def alias_props(spec):
    """Alias properties as GET returns them (routing split in two)."""
    props = {k: v for k, v in spec.items()
             if k in ("filter", "routing", "index_routing", "search_routing",
                      "is_write_index", "is_hidden")}
    if "routing" in props:
        r = str(props.pop("routing"))
        props.setdefault("index_routing", r)
        props.setdefault("search_routing", r)
    return props


def doc_slice(doc_id, smax):
    return zlib.crc32(doc_id.encode()) % smax


class Index:
    def __init__(self, name, settings, mappings, type_name):
        self.name = name
        self.uuid = base64.urlsafe_b64encode(uuidlib.uuid4().bytes)[:22].decode()
        self.settings = settings          # flat "index.x" -> str or list
        self.mappings = mappings          # typeless: {"properties": {...}, ...}
        self.type_name = type_name        # es6 only
        self.aliases = {}                 # alias -> props
        self.docs = {}                    # id -> (source bytes, routing)
        self.pending = {}                 # written, not yet refreshed
        self.closed = False

    def refresh_off(self):
        return self.settings.get("index.refresh_interval") == "-1"

    def refresh(self):
        if self.pending:
            self.docs.update(self.pending)
            self.pending = {}

    def hidden(self):
        return self.settings.get("index.hidden") == "true"

    def clone(self, name):
        c = Index(name, dict(self.settings), copy.deepcopy(self.mappings), self.type_name)
        c.aliases = copy.deepcopy(self.aliases)
        c.docs = dict(self.docs)
        c.docs.update(self.pending)
        return c


class Cluster:
    def __init__(self, flavor, snapshot_delay):
        self.flavor = flavor
        self.f = FLAVORS[flavor]
        self.lock = threading.RLock()
        self.indices = {}
        self.persistent = {}
        self.transient = {}
        self.scrolls = {}
        self.pits = {}
        self.repos = {}
        self.snapshot_delay = snapshot_delay
        self.faults = []
        self.fault_opts = {}
        self.stats = {"requests": 0, "faults_fired": 0, "bulk_requests": 0,
                      "bulk_items": 0, "bulk_inflight": 0, "bulk_max_inflight": 0,
                      "scroll_requests": 0, "pit_searches": 0, "alias_requests": [],
                      "cluster_settings_puts": 0, "by_endpoint": {}}
        self.added = []
        self.cluster_uuid = base64.urlsafe_b64encode(uuidlib.uuid4().bytes)[:22].decode()

    # ---- flavor facts
    @property
    def major(self):
        return int(self.f["number"].split(".")[0])

    @property
    def minor(self):
        return int(self.f["number"].split(".")[1])

    @property
    def opensearch(self):
        return self.f["distribution"] == "opensearch"

    @property
    def es6(self):
        return self.flavor == "es6"

    def has_es_pit(self):
        return not self.opensearch and (self.major, self.minor) >= (7, 10)

    def has_os_pit(self):
        return self.opensearch and (self.major, self.minor) >= (2, 4)

    def with_type(self):
        # documents and bulk items carry _type up to 7.x
        return self.opensearch is False and self.major < 8 or (self.opensearch and self.major == 1)

    def hits_total(self, n, params):
        if self.es6 or params.get("rest_total_hits_as_int") == "true":
            return n
        return {"value": n, "relation": "eq"}

    # ---- name resolution
    def auto_create_allowed(self, name):
        v = self.transient.get("action.auto_create_index",
                               self.persistent.get("action.auto_create_index", "true"))
        if v in ("true", None):
            return True
        if v == "false":
            return False
        for pat in v.split(","):
            neg = pat.startswith("-")
            pat = pat.lstrip("+-")
            if fnmatch.fnmatchcase(name, pat):
                return not neg
        return False

    def resolve(self, expr, params=None, allow_aliases=True, allow_closed=False,
                missing_ok=False):
        """Concrete index names for an index expression (comma list,
        wildcards, aliases).  Missing explicit names raise 404."""
        params = params or {}
        expand = params.get("expand_wildcards", "open")
        ignore_unavailable = params.get("ignore_unavailable") == "true"
        allow_no = params.get("allow_no_indices", "true") == "true"
        names = []
        parts = expr.split(",") if expr not in ("", "_all") else ["*"]
        for part in parts:
            neg = part.startswith("-") and names
            if neg:
                part = part[1:]
            if "*" in part or "?" in part:
                matched = []
                for n, ix in self.indices.items():
                    if not fnmatch.fnmatchcase(n, part):
                        continue
                    if ix.hidden() or n.startswith("."):
                        if "all" not in expand and "hidden" not in expand and not part.startswith("."):
                            continue
                    if ix.closed and "closed" not in expand and "all" not in expand:
                        continue
                    matched.append(n)
                if allow_aliases:
                    for n, ix in self.indices.items():
                        for a in ix.aliases:
                            if fnmatch.fnmatchcase(a, part) and n not in matched:
                                matched.append(n)
                if neg:
                    names = [n for n in names if n not in matched]
                else:
                    names.extend(m for m in sorted(matched) if m not in names)
                if not matched and not allow_no and not neg:
                    raise not_found(part)
                continue
            if part in self.indices:
                if part not in names:
                    names.append(part)
                continue
            holders = [n for n, ix in self.indices.items() if part in ix.aliases]
            if holders and allow_aliases:
                names.extend(h for h in sorted(holders) if h not in names)
                continue
            if missing_ok or ignore_unavailable:
                continue
            raise not_found(part)
        if not allow_closed:
            for n in names:
                if self.indices[n].closed and not ignore_unavailable:
                    raise ESError(400, "index_closed_exception", "closed", index=n)
        return names

    # ---- settings and mappings validation
    def normalize_settings(self, body_settings, creating):
        flat = flatten(body_settings or {})
        out = {}
        for k, v in flat.items():
            key = k if k.startswith("index.") else "index." + k
            if key in PRIVATE_SETTINGS:
                raise ESError(400, "illegal_argument_exception",
                              "private index setting [%s] can not be set explicitly" % key)
            if key not in SETTING_NAMES and not key.startswith(SETTING_PREFIXES):
                raise ESError(400, "illegal_argument_exception",
                              "unknown setting [%s] please check that any required plugins are "
                              "installed, or check the breaking changes documentation for "
                              "removed settings" % key)
            if key in ("index.number_of_shards", "index.number_of_replicas") and v is not None:
                try:
                    n = int(v)
                except ValueError:
                    raise ESError(400, "illegal_argument_exception",
                                  "Failed to parse value [%s] for setting [%s]" % (v, key))
                if key == "index.number_of_shards" and not 1 <= n <= 1024:
                    raise ESError(400, "illegal_argument_exception",
                                  "Failed to parse value [%s] for setting [%s] must be >= 1" % (v, key))
                if n < 0:
                    raise ESError(400, "illegal_argument_exception",
                                  "Failed to parse value [%s] for setting [%s] must be >= 0" % (v, key))
            if key == "index.refresh_interval" and v not in (None, "-1"):
                parse_duration(v, key)
            out[key] = v
        return out

    def check_properties(self, props, path):
        if not isinstance(props, dict):
            raise ESError(400, "mapper_parsing_exception",
                          "Expected map for property [properties] on field [%s] but got a class java.lang.String" % path)
        for name, spec in props.items():
            full = path + name if not path else path + "." + name
            if not isinstance(spec, dict):
                raise ESError(400, "mapper_parsing_exception",
                              "Expected map for property [fields] on field [%s] but got a class java.lang.String" % full)
            t = spec.get("type", "object" if "properties" in spec else None)
            if t is None:
                raise ESError(400, "mapper_parsing_exception",
                              "No type specified for field [%s]" % name)
            if t not in KNOWN_TYPES or (t == "string"):
                raise ESError(400, "mapper_parsing_exception",
                              "No handler for type [%s] declared on field [%s]" % (t, name))
            if "properties" in spec:
                self.check_properties(spec["properties"], full)
            if "fields" in spec:
                self.check_properties(spec["fields"], full)

    def normalize_mappings(self, mappings, params):
        """Returns (typeless mapping, type name) or raises as the flavor would."""
        if not mappings:
            return {}, "_doc"
        if not isinstance(mappings, dict):
            raise ESError(400, "mapper_parsing_exception", "Failed to parse mapping: mappings must be an object")
        root_keys = {"properties", "dynamic", "_source", "_routing", "dynamic_templates",
                     "_meta", "date_detection", "numeric_detection", "enabled", "_all",
                     "_field_names", "dynamic_date_formats", "runtime"}
        include_type = params.get("include_type_name")
        typed = self.es6 and include_type != "false" or include_type == "true"
        if typed:
            if len(mappings) != 1 or set(mappings) & root_keys:
                raise ESError(400, "mapper_parsing_exception",
                              "Root mapping definition has unsupported parameters:  [%s : %s]"
                              % tuple(next(iter(mappings.items()))) if mappings else "")
            tname, body = next(iter(mappings.items()))
        else:
            bad = [k for k in mappings if k not in root_keys]
            if bad:
                k = bad[0]
                raise ESError(400, "mapper_parsing_exception",
                              "Root mapping definition has unsupported parameters:  [%s : %s]"
                              % (k, json.dumps(mappings[k])))
            tname, body = "_doc", mappings
        if "_all" in body and not self.es6:
            raise ESError(400, "mapper_parsing_exception",
                          "Root mapping definition has unsupported parameters:  [_all : ...]")
        if "properties" in body:
            self.check_properties(body["properties"], "")
        d = body.get("dynamic", True)
        if str(d).lower() not in ("true", "false", "strict", "runtime"):
            raise ESError(400, "mapper_parsing_exception", "Could not convert [dynamic] to boolean")
        return copy.deepcopy(body), tname

    def render_mappings(self, ix):
        if self.es6:
            return {ix.type_name: ix.mappings} if ix.mappings else {}
        return ix.mappings

    def render_settings(self, ix, flat):
        s = dict(ix.settings)
        if flat:
            return s
        return nest(s)

    def create_index(self, name, body, params):
        if name in self.indices:
            raise ESError(400, "resource_already_exists_exception",
                          "index [%s/%s] already exists" % (name, self.indices[name].uuid), index=name)
        if any(name == a for ix in self.indices.values() for a in ix.aliases):
            raise ESError(400, "invalid_index_name_exception",
                          "Invalid index name [%s], already exists as alias" % name, index=name)
        bad = re.search(r'[\\/*?"<>| ,#:A-Z]', name)
        if bad or name.startswith(("_", "-", "+")) or name in (".", ".."):
            raise ESError(400, "invalid_index_name_exception",
                          "Invalid index name [%s], must be lowercase and not contain forbidden characters" % name,
                          index=name)
        body = body or {}
        for k in body:
            if k not in ("settings", "mappings", "aliases"):
                raise ESError(400, "parse_exception", "unknown key [%s] for create index" % k)
        settings = self.normalize_settings(body.get("settings"), True)
        mappings, tname = self.normalize_mappings(body.get("mappings"), params)
        full = {"index.number_of_shards": "1", "index.number_of_replicas": "1"}
        full.update({k: v for k, v in settings.items() if v is not None})
        full["index.uuid"] = None  # placeholder, replaced below
        full["index.provided_name"] = name
        full["index.creation_date"] = full.get("index.creation_date") or str(int(time.time() * 1000))
        full["index.version.created"] = {"6": "6082399", "7": "7171599", "8": "8500003",
                                         "1": "135248027", "2": "136327827"}[self.f["number"][0]]
        ix = Index(name, full, mappings, tname)
        ix.settings["index.uuid"] = ix.uuid
        for alias, props in (body.get("aliases") or {}).items():
            if alias in self.indices:
                raise ESError(400, "invalid_alias_name_exception",
                              "Invalid alias name [%s]: an index or data stream exists with the same name as the alias" % alias)
            ix.aliases[alias] = alias_props(props or {})
        self.indices[name] = ix
        return ix

    # ---- document validation against the mapping (with dynamic mapping)
    def check_value(self, ix, spec, fname, value, doc_id):
        t = spec.get("type", "object")
        vals = value if isinstance(value, list) else [value]
        for v in vals:
            if v is None:
                continue
            bad = False
            if t in INT_TYPES:
                if isinstance(v, bool) or isinstance(v, (dict, list)):
                    bad = True
                elif isinstance(v, float):
                    bad = False
                elif isinstance(v, str):
                    try:
                        float(v)
                    except ValueError:
                        bad = True
            elif t in FLOAT_TYPES:
                if isinstance(v, (bool, dict, list)):
                    bad = True
                elif isinstance(v, str):
                    try:
                        float(v)
                    except ValueError:
                        bad = True
            elif t == "boolean":
                bad = not (isinstance(v, bool) or v in ("true", "false", ""))
            elif t in ("object", "nested"):
                if not isinstance(v, dict):
                    raise ESError(400, "mapper_parsing_exception",
                                  "object mapping for [%s] tried to parse field [%s] as object, but found a concrete value"
                                  % (fname, fname))
                self.check_object(ix, spec, v, fname + ".", doc_id)
                continue
            elif t == "date":
                bad = isinstance(v, (bool, dict, list)) or (
                    isinstance(v, str) and not re.match(r"^\d{4}-\d{2}-\d{2}([T ][0-9:.]+(Z|[+-][0-9:]+)?)?$|^\d+$", v))
            elif t in ("keyword", "text"):
                bad = isinstance(v, dict)
            if bad:
                raise ESError(400, "mapper_parsing_exception",
                              "failed to parse field [%s] of type [%s] in document with id '%s'. "
                              "Preview of field's value: '%s'" % (fname, t, doc_id, v),
                              extra={"caused_by": {"type": "illegal_argument_exception",
                                                   "reason": "For input string: \"%s\"" % v}})

    def check_object(self, ix, objspec, obj, prefix, doc_id):
        props = objspec.setdefault("properties", {})
        dynamic = str(objspec.get("dynamic", ix.mappings.get("dynamic", True))).lower()
        for k, v in obj.items():
            fname = prefix + k
            spec = props.get(k)
            if spec is None:
                if dynamic == "strict":
                    raise ESError(400, "strict_dynamic_mapping_exception",
                                  "mapping set to strict, dynamic introduction of [%s] within [%s] is not allowed"
                                  % (k, prefix.rstrip(".") or "_doc"))
                if dynamic == "false":
                    continue
                sample = v[0] if isinstance(v, list) and v else v
                if sample is None or isinstance(v, list) and not v:
                    continue
                if isinstance(sample, bool):
                    spec = {"type": "boolean"}
                elif isinstance(sample, int):
                    spec = {"type": "long"}
                elif isinstance(sample, float):
                    spec = {"type": "float"}
                elif isinstance(sample, dict):
                    spec = {"properties": {}}
                elif isinstance(sample, str) and re.match(r"^\d{4}-\d{2}-\d{2}(T[0-9:.]+(Z|[+-][0-9:]+)?)?$", sample):
                    spec = {"type": "date"}
                else:
                    spec = {"type": "text", "fields": {"keyword": {"type": "keyword", "ignore_above": 256}}}
                props[k] = spec
                self.added.append((props, k))
            self.check_value(ix, spec, fname, v, doc_id)

    # ---- snapshots
    def snapshot_state(self, snap):
        if snap["state"] == "IN_PROGRESS" and time.time() >= snap["ready_at"]:
            snap["state"] = snap["outcome"]
            snap["end"] = time.time()
        return snap["state"]

    def snapshot_info(self, repo, snap, verbose=True):
        state = self.snapshot_state(snap)
        nidx = len(snap["indices"])
        failed = nidx if state == "FAILED" else (1 if state == "PARTIAL" and nidx else 0)
        info = {"snapshot": snap["name"], "uuid": snap["uuid"]}
        if not self.es6:
            info["repository"] = repo
        info.update({
            "version_id": int({"6": 6082399, "7": 7171599, "8": 8500003, "1": 135248027, "2": 136327827}[self.f["number"][0]]),
            "version": self.f["number"], "indices": list(snap["indices"]),
            "data_streams": [], "include_global_state": snap["global"], "state": state,
            "start_time": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(snap["start"])),
            "start_time_in_millis": int(snap["start"] * 1000)})
        if state != "IN_PROGRESS":
            end = snap["end"] or time.time()
            info.update({"end_time": time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime(end)),
                         "end_time_in_millis": int(end * 1000),
                         "duration_in_millis": int((end - snap["start"]) * 1000)})
        info["failures"] = [{"index": i, "index_uuid": i, "shard_id": 0,
                             "reason": "IndexShardSnapshotFailedException[simulated failure]",
                             "node_id": "test-node", "status": "INTERNAL_SERVER_ERROR"}
                            for i in snap["indices"][:failed]]
        info["shards"] = {"total": nidx, "failed": failed, "successful": nidx - failed}
        if state == "FAILED":
            info["reason"] = "simulated snapshot failure"
        return info


# ---- shared "fs" repositories: snapshots persisted as JSON files under
# settings.location, so several test servers registering the same location
# see the same snapshots (as clusters sharing a real fs or s3 repository).
def fs_dir(R):
    if R["type"] != "fs":
        return None
    d = R["settings"].get("location")
    if d and not os.path.isabs(d):
        return None
    return d


def fs_save(R, snap):
    d = fs_dir(R)
    if not d:
        return
    os.makedirs(d, exist_ok=True)
    data = {n: {"settings": ix.settings, "mappings": ix.mappings, "type_name": ix.type_name,
                "aliases": ix.aliases,
                "docs": [[k, v[0].decode("utf-8"), v[1]] for k, v in ix.docs.items()]}
            for n, ix in snap["data"].items()}
    rec = {k: v for k, v in snap.items() if k != "data"}
    rec["data"] = data
    tmp = os.path.join(d, ".snap-%s.tmp" % snap["name"])
    with open(tmp, "w") as fh:
        json.dump(rec, fh)
    os.rename(tmp, os.path.join(d, "snap-%s.json" % snap["name"]))


def fs_delete(R, name):
    d = fs_dir(R)
    if d:
        try:
            os.unlink(os.path.join(d, "snap-%s.json" % name))
        except FileNotFoundError:
            pass


def fs_load(R):
    d = fs_dir(R)
    if not d or not os.path.isdir(d):
        return
    names = set()
    for f in os.listdir(d):
        if not (f.startswith("snap-") and f.endswith(".json")):
            continue
        name = f[5:-5]
        names.add(name)
        if name in R["snapshots"]:
            continue
        with open(os.path.join(d, f)) as fh:
            rec = json.load(fh)
        data = {}
        for n, x in rec["data"].items():
            ix = Index(n, x["settings"], x["mappings"], x["type_name"])
            ix.aliases = x["aliases"]
            ix.docs = {k: (src.encode("utf-8"), rt) for k, src, rt in x["docs"]}
            data[n] = ix
        rec["data"] = data
        R["snapshots"][name] = rec
    for name in list(R["snapshots"]):
        if name not in names:
            del R["snapshots"][name]


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "es-test-double"
    sys_version = ""

    def log_message(self, fmt, *args):  # quiet unless --verbose
        if self.server.verbose:
            sys.stderr.write("es_server: " + (fmt % args) + "\n")

    # ---- plumbing
    def send_json(self, status, obj, head=False):
        data = obj if isinstance(obj, (bytes, bytearray)) else json.dumps(obj).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json; charset=UTF-8")
        self.send_header("content-length", str(len(data)))
        if not self.server.cluster.opensearch and self.server.cluster.major >= 8:
            self.send_header("X-elastic-product", "Elasticsearch")
        self.end_headers()
        if not head:
            self.wfile.write(data)

    def drop(self):
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

    def read_body(self):
        te = self.headers.get("transfer-encoding", "")
        if "chunked" in te.lower():
            chunks = []
            while True:
                line = self.rfile.readline().strip()
                n = int(line.split(b";")[0], 16)
                if n == 0:
                    while self.rfile.readline().strip():
                        pass
                    break
                chunks.append(self.rfile.read(n))
                self.rfile.readline()
            return b"".join(chunks)
        n = int(self.headers.get("content-length") or 0)
        return self.rfile.read(n) if n else b""

    def check_sigv4(self, body):
        """Verify an AWS SigV4 signature (service "es") as Amazon OpenSearch
        Service does; 403 with AWS's error body otherwise."""
        ak, sk, region = self.server.sigv4.split(":", 2)
        auth = self.headers.get("authorization", "")
        m = re.fullmatch(r"AWS4-HMAC-SHA256 Credential=([^/]+)/(\d{8})/([^/]+)/([^/]+)/aws4_request, "
                         r"SignedHeaders=([a-z0-9;-]+), Signature=([0-9a-f]{64})", auth.strip())

        def deny(msg):
            data = json.dumps({"message": msg}).encode()
            self.send_response(403)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)
            return False
        if not m:
            return deny("Authorization header requires 'Credential', 'Signature' and 'SignedHeaders' "
                        "parameters (or is missing)")
        cred_ak, date, reg, service, signed, sig = m.groups()
        if cred_ak != ak:
            return deny("The security token included in the request is invalid.")
        if reg != region or service != "es":
            return deny("Credential should be scoped to a valid region and service 'es'.")
        amzdate = self.headers.get("x-amz-date", "")
        if not amzdate.startswith(date):
            return deny("Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP")
        payload = hashlib.sha256(body).hexdigest()
        if self.headers.get("x-amz-content-sha256", payload) != payload:
            return deny("The provided 'x-amz-content-sha256' header does not match what was computed.")
        names = signed.split(";")
        if "host" not in names:
            return deny("'Host' must be a signed header")
        split = urlsplit(self.path)
        segs = []
        for seg in split.path.split("/"):
            if seg == "..":
                if segs:
                    segs.pop()
            elif seg not in (".", ""):
                segs.append(seg)
        path = "/" + "/".join(segs) + ("/" if split.path.endswith("/") and segs else "")
        curi = quote(path, safe="/-_.~")
        pairs = []
        for part in split.query.split("&") if split.query else []:
            k, _, v = part.partition("=")
            pairs.append((quote(unquote(k), safe="-_.~"), quote(unquote(v), safe="-_.~")))
        cquery = "&".join("%s=%s" % kv for kv in sorted(pairs))
        chead = "".join("%s:%s\n" % (n, " ".join((self.headers.get(n) or "").split())) for n in names)
        creq = "\n".join([self.command, curi, cquery, chead, signed, payload])
        scope = "%s/%s/es/aws4_request" % (date, region)
        sts = "\n".join(["AWS4-HMAC-SHA256", amzdate, scope, hashlib.sha256(creq.encode()).hexdigest()])
        key = ("AWS4" + sk).encode()
        for part in (date, region, "es", "aws4_request"):
            key = hmac.new(key, part.encode(), hashlib.sha256).digest()
        want = hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()
        if not hmac.compare_digest(want, sig):
            return deny("The request signature we calculated does not match the signature you provided. "
                        "Check your AWS Secret Access Key and signing method. Consult the service "
                        "documentation for details.\n\nThe Canonical String for this request should have "
                        "been\n'%s'\n\nThe String-to-Sign should have been\n'%s'\n" % (creq, sts))
        return True

    def check_auth(self, body=b""):
        srv = self.server
        if srv.sigv4:
            return self.check_sigv4(body)
        if not (srv.basic or srv.api_key or srv.bearer):
            return True
        h = self.headers.get("authorization", "")
        ok = False
        if srv.basic and h.startswith("Basic "):
            ok = h[6:].strip() == base64.b64encode(srv.basic.encode()).decode()
        elif srv.api_key and h.startswith("ApiKey "):
            ok = h[7:].strip() in (base64.b64encode(srv.api_key.encode()).decode(), srv.api_key)
        elif srv.bearer and h.startswith("Bearer "):
            ok = h[7:].strip() == srv.bearer
        if ok:
            return True
        reason = ("missing authentication credentials for REST request [%s]" % self.path if not h
                  else "unable to authenticate user for REST request [%s]" % self.path)
        e = ESError(401, "security_exception", reason,
                    extra={"header": {"WWW-Authenticate": ['Basic realm="security" charset="UTF-8"',
                                                           "Bearer realm=\"security\"", "ApiKey"]}})
        self.send_json(401, e.body())
        return False

    def fault(self, method, path):
        """Apply the first matching fault rule; True when the request was consumed."""
        c = self.server.cluster
        with c.lock:
            rule = None
            for r in c.faults:
                if r["count"] <= 0 or not re.search(r["match"], method + " " + path):
                    continue
                if r.get("after", 0) > 0:
                    r["after"] -= 1
                    continue
                if r["action"] in ("item_429", "item_error"):
                    continue  # applied per bulk item
                r["count"] -= 1
                rule = r
                break
            if rule is None:
                return False
            c.stats["faults_fired"] += 1
        act = rule["action"]
        if act == "expire":
            with c.lock:
                c.scrolls.clear()
                c.pits.clear()
            return False
        if act == "drop_after":
            self.drop_after = True
            return False
        if act == "drop":
            self.drop()
            return True
        if act == "stall":
            time.sleep(float(rule.get("seconds", 5)))
            self.drop()
            return True
        status = int(act)
        if status == 429:
            e = ESError(429, "es_rejected_execution_exception",
                        "rejected execution of coordinating operation [coordinating_and_primary_bytes=0, "
                        "replica_bytes=0, all_bytes=0, coordinating_operation_bytes=1, "
                        "max_coordinating_and_primary_bytes=1]")
            self.send_json(429, e.body())
        elif status == 503:
            e = ESError(503, "cluster_block_exception",
                        "blocked by: [SERVICE_UNAVAILABLE/1/state not recovered / initialized];")
            self.send_json(503, e.body())
        else:
            body = ("<html><body><h1>%d</h1>proxy error</body></html>" % status).encode()
            self.send_response(status)
            self.send_header("content-type", "text/html")
            self.send_header("content-length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
        return True

    def handle_any(self, method):
        c = self.server.cluster
        split = urlsplit(self.path)
        path = split.path
        params = {k: v[-1] for k, v in parse_qs(split.query, keep_blank_values=True).items()}
        try:
            body = self.read_body()
        except (ValueError, OSError):
            self.drop()
            return
        with c.lock:
            c.stats["requests"] += 1
        if path.startswith("/_test/"):
            return self.control(method, path, body)
        if not self.check_auth(body):
            return
        self.drop_after = False
        if self.fault(method, path):
            return
        ctype = (self.headers.get("content-type") or "").split(";")[0].strip().lower()
        if body and ctype not in ("application/json", "application/x-ndjson",
                                  "application/vnd.elasticsearch+json", "application/yaml",
                                  "application/smile", "application/cbor"):
            if not (c.es6 and ctype == ""):
                self.send_json(406, {"error": "Content-Type header [%s] is not supported" % ctype,
                                     "status": 406})
                return
        parts = [unquote(p) for p in path.split("/") if p]
        try:
            status, obj = self.route(method, parts, params, body)
        except ESError as e:
            status, obj = e.status, e.body()
        except json.JSONDecodeError as e:
            err = ESError(400, "parse_exception", "request body is not valid JSON: %s" % e)
            status, obj = 400, err.body()
        if self.drop_after:
            # the request took effect, but its response is lost
            self.drop()
            return
        self.send_json(status, obj, head=(method == "HEAD"))

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_DELETE(self):
        self.handle_any("DELETE")

    def do_HEAD(self):
        self.handle_any("HEAD")

    # ---- control endpoint (not part of the Elasticsearch API)
    def control(self, method, path, body):
        c = self.server.cluster
        with c.lock:
            if path == "/_test/faults" and method in ("POST", "PUT"):
                spec = json.loads(body or b"{}")
                for r in spec.get("rules", []):
                    r.setdefault("count", 1)
                    r.setdefault("after", 0)
                    c.faults.append(r)
                for k in ("snapshot_outcome", "snapshot_delay"):
                    if k in spec:
                        c.fault_opts[k] = spec[k]
                if spec.get("expire_contexts"):
                    c.scrolls.clear()
                    c.pits.clear()
                self.send_json(200, {"acknowledged": True, "rules": c.faults})
            elif path == "/_test/faults" and method == "DELETE":
                c.faults = []
                c.fault_opts = {}
                self.send_json(200, {"acknowledged": True})
            elif path == "/_test/stats":
                st = dict(c.stats)
                st["open_scrolls"] = len(c.scrolls)
                st["open_pits"] = len(c.pits)
                st["pending_faults"] = [r for r in c.faults if r["count"] > 0]
                self.send_json(200, st)
            elif path == "/_test/reset" and method == "POST":
                c.__init__(c.flavor, c.snapshot_delay)
                self.send_json(200, {"acknowledged": True})
            else:
                self.send_json(404, {"error": "unknown control endpoint", "status": 404})

    # ---- routing
    def route(self, method, parts, params, body):
        c = self.server.cluster
        ep = (parts[0] if parts and parts[0].startswith("_") else "<index>") + \
            ("/" + parts[1] if len(parts) > 1 else "")
        with c.lock:
            c.stats["by_endpoint"][method + " " + ep] = c.stats["by_endpoint"].get(method + " " + ep, 0) + 1
        jbody = None
        if body and not (len(parts) >= 1 and parts[-1] == "_bulk"):
            jbody = json.loads(body)
        n = len(parts)
        if n == 0:
            if method in ("GET", "HEAD"):
                return 200, self.root_info()
            raise ESError(405, "method_not_allowed", "Incorrect HTTP method for uri [/] and method [%s]" % method)
        p0 = parts[0]
        if p0 == "_cat" and n == 2 and parts[1] == "indices" and method == "GET":
            return self.cat_indices(params, None)
        if p0 == "_cat" and n == 3 and parts[1] == "indices" and method == "GET":
            return self.cat_indices(params, parts[2])
        if p0 == "_bulk" and method in ("POST", "PUT"):
            return self.bulk(None, body, params)
        if n == 2 and parts[1] == "_bulk" and method in ("POST", "PUT"):
            return self.bulk(parts[0], body, params)
        if p0 == "_alias" or p0 == "_aliases" and method == "GET":
            return self.get_alias(None, parts[1] if n > 1 else None, params)
        if p0 == "_aliases" and method == "POST":
            return self.update_aliases(jbody)
        if p0 == "_cluster" and n == 2 and parts[1] == "settings":
            return self.cluster_settings(method, jbody, params)
        if p0 == "_cluster" and n == 2 and parts[1] == "health":
            return 200, {"cluster_name": "envsync-test", "status": "green", "timed_out": False,
                         "number_of_nodes": 1, "number_of_data_nodes": 1}
        if p0 == "_search" and n == 2 and parts[1] == "scroll":
            if method == "DELETE":
                return self.clear_scroll(jbody, parts)
            return self.scroll(jbody, params)
        if p0 == "_search" and n == 3 and parts[1] == "scroll" and method == "DELETE":
            return self.clear_scroll(jbody, parts)
        if p0 == "_search" and n == 2 and parts[1] == "point_in_time" and method == "DELETE":
            return self.os_pit_delete(jbody)
        if p0 == "_search" and n == 3 and parts[1] == "point_in_time" and parts[2] == "_all":
            if not c.has_os_pit():
                raise ESError(400, "illegal_argument_exception", "no handler found for uri")
            with c.lock:
                if method == "DELETE":
                    ids = list(c.pits)
                    c.pits.clear()
                    return 200, {"pits": [{"pit_id": i, "successful": True} for i in ids]}
                return 200, {"pits": [{"pit_id": i, "creation_time": int(p["created"] * 1000),
                                       "keep_alive": int(p["keep_alive"] * 1000)}
                                      for i, p in c.pits.items()]}
        if p0 == "_search" and n == 1 and method in ("GET", "POST"):
            return self.search(None, jbody, params)
        if p0 == "_pit" and n == 1 and method == "DELETE":
            return self.es_pit_delete(jbody)
        if p0 == "_snapshot":
            return self.snapshot(method, parts[1:], jbody, params)
        if p0 == "_refresh":
            return self.refresh("_all")
        if p0.startswith("_"):
            raise ESError(400, "invalid_index_name_exception",
                          "Invalid index name [%s], must not start with '_'." % p0, index=p0)
        # /<index>...
        if n == 1:
            if method == "PUT":
                with c.lock:
                    ix = c.create_index(p0, jbody, params)
                return 200, {"acknowledged": True, "shards_acknowledged": True, "index": ix.name}
            if method in ("GET", "HEAD"):
                return self.get_index(p0, params)
            if method == "DELETE":
                return self.delete_index(p0, params)
        sub = parts[1]
        if sub == "_search" and n == 2 and method in ("GET", "POST"):
            return self.search(p0, jbody, params)
        if sub == "_search" and n == 3 and parts[2] == "point_in_time" and method == "POST":
            return self.os_pit_create(p0, params)
        if sub == "_pit" and n == 2 and method == "POST":
            return self.es_pit_create(p0, params)
        if sub == "_count" and method in ("GET", "POST"):
            with c.lock:
                names = c.resolve(p0, params)
                total = sum(len(c.indices[x].docs) for x in names)
            return 200, {"count": total, "_shards": self.shards(len(names))}
        if sub == "_refresh" and method in ("POST", "GET"):
            return self.refresh(p0)
        if sub == "_settings":
            if method == "PUT":
                return self.put_settings(p0, jbody, params)
            if method == "GET":
                with c.lock:
                    names = c.resolve(p0, params, allow_closed=True)
                    flat = params.get("flat_settings") == "true"
                    return 200, {x: {"settings": c.render_settings(c.indices[x], flat)} for x in names}
        if sub == "_mapping" and method == "GET":
            with c.lock:
                names = c.resolve(p0, params, allow_closed=True)
                return 200, {x: {"mappings": c.render_mappings(c.indices[x])} for x in names}
        if sub == "_close" and method == "POST":
            return self.open_close(p0, params, True)
        if sub == "_open" and method == "POST":
            return self.open_close(p0, params, False)
        if sub in ("_alias", "_aliases") and method == "GET":
            return self.get_alias(p0, parts[2] if n > 2 else None, params)
        if sub == "_doc" and n == 3 and method == "GET":
            with c.lock:
                names = c.resolve(p0, params)
                ix = c.indices[names[0]]
                d = ix.docs.get(parts[2]) or ix.pending.get(parts[2])
                if not d:
                    return 404, {"_index": ix.name, "_id": parts[2], "found": False}
                return 200, json.loads(b'{"_index":"%s","_id":%s,"found":true,"_source":%s}'
                                       % (ix.name.encode(), json.dumps(parts[2]).encode(), d[0]))
        raise ESError(405 if method not in ("GET", "POST", "PUT", "DELETE", "HEAD") else 400,
                      "illegal_argument_exception",
                      "no handler found for uri [/%s] and method [%s]" % ("/".join(parts), method))

    @staticmethod
    def shards(n):
        return {"total": n, "successful": n, "skipped": 0, "failed": 0}

    def root_info(self):
        c = self.server.cluster
        f = c.f
        version = {"number": f["number"]}
        if f["distribution"]:
            version["distribution"] = f["distribution"]
        else:
            version["build_flavor"] = f["build_flavor"]
        version.update({"build_type": "tar", "build_hash": "0" * 40,
                        "build_date": "2023-11-04T10:04:57.184859352Z", "build_snapshot": False,
                        "lucene_version": f["lucene"],
                        "minimum_wire_compatibility_version": f["wire"],
                        "minimum_index_compatibility_version": f["index_compat"]})
        return {"name": "test-node", "cluster_name": "envsync-test",
                "cluster_uuid": c.cluster_uuid, "version": version,
                "tagline": "The OpenSearch Project: https://opensearch.org/" if c.opensearch
                else "You Know, for Search"}

    def cat_indices(self, params, expr):
        c = self.server.cluster
        if params.get("format") != "json":
            raise ESError(400, "illegal_argument_exception", "this test double only serves format=json")
        p = dict(params)
        # _cat/indices expands to all (hidden included) by default since 7.7
        p.setdefault("expand_wildcards", "all" if not c.es6 else "open,closed")
        with c.lock:
            names = c.resolve(expr or "*", p, allow_aliases=True, allow_closed=True)
            rows = []
            for n in names:
                ix = c.indices[n]
                size = sum(len(d[0]) for d in ix.docs.values())
                row = {"health": "green" if ix.settings.get("index.number_of_replicas") == "0" else "yellow",
                       "status": "close" if ix.closed else "open", "index": n, "uuid": ix.uuid,
                       "pri": ix.settings.get("index.number_of_shards", "1"),
                       "rep": ix.settings.get("index.number_of_replicas", "1"),
                       "docs.count": None if ix.closed else str(len(ix.docs)),
                       "docs.deleted": None if ix.closed else "0",
                       "store.size": None if ix.closed else "%db" % size,
                       "pri.store.size": None if ix.closed else "%db" % size}
                if params.get("h"):
                    row = {k: row.get(k) for k in params["h"].split(",")}
                rows.append(row)
        return 200, rows

    def get_index(self, expr, params):
        c = self.server.cluster
        with c.lock:
            names = c.resolve(expr, params, allow_closed=True)
            flat = params.get("flat_settings") == "true"
            out = {}
            for n in names:
                ix = c.indices[n]
                out[n] = {"aliases": copy.deepcopy(ix.aliases),
                          "mappings": c.render_mappings(ix),
                          "settings": c.render_settings(ix, flat)}
            return 200, out

    def delete_index(self, expr, params):
        c = self.server.cluster
        with c.lock:
            for part in expr.split(","):
                if part not in c.indices and "*" not in part and any(
                        part in ix.aliases for ix in c.indices.values()):
                    raise ESError(400, "illegal_argument_exception",
                                  "The provided expression [%s] matches an alias, specify the "
                                  "corresponding concrete indices instead." % part)
                if ("*" in part or part == "_all") and (c.major >= 8 and not c.opensearch):
                    raise ESError(400, "illegal_argument_exception",
                                  "Wildcard expressions or all indices are not allowed")
            names = c.resolve(expr, params, allow_aliases=False, allow_closed=True)
            for n in names:
                del c.indices[n]
        return 200, {"acknowledged": True}

    def refresh(self, expr):
        c = self.server.cluster
        with c.lock:
            names = c.resolve(expr, {}, allow_closed=False)
            for n in names:
                c.indices[n].refresh()
        return 200, {"_shards": self.shards(len(names))}

    def put_settings(self, expr, body, params):
        c = self.server.cluster
        if not body:
            raise ESError(400, "action_request_validation_exception", "Validation Failed: 1: no settings to update;")
        if "settings" in body and len(body) == 1:
            body = body["settings"]
        with c.lock:
            names = c.resolve(expr, params, allow_closed=True)
            settings = c.normalize_settings(body, False)
            for n in names:
                ix = c.indices[n]
                static = [k for k in settings if k in STATIC_SETTINGS or
                          (k.startswith("index.analysis.") and not ix.closed)]
                if static and not ix.closed:
                    raise ESError(400, "illegal_argument_exception",
                                  "Can't update non dynamic settings [[%s]] for open indices [[%s/%s]]"
                                  % (", ".join(static), n, ix.uuid))
                if "index.number_of_shards" in settings:
                    raise ESError(400, "illegal_argument_exception",
                                  "final index setting [index.number_of_shards], not updateable")
            for n in names:
                ix = c.indices[n]
                for k, v in settings.items():
                    if v is None:
                        ix.settings.pop(k, None)
                        if k == "index.number_of_replicas":
                            ix.settings[k] = "1"
                    else:
                        ix.settings[k] = v
                if not ix.refresh_off():
                    ix.refresh()
        return 200, {"acknowledged": True}

    def open_close(self, expr, params, close):
        c = self.server.cluster
        with c.lock:
            names = c.resolve(expr, dict(params, expand_wildcards="open,closed"), allow_closed=True)
            for n in names:
                c.indices[n].refresh()
                c.indices[n].closed = close
        if close:
            return 200, {"acknowledged": True, "shards_acknowledged": True,
                         "indices": {n: {"closed": True} for n in names}}
        return 200, {"acknowledged": True, "shards_acknowledged": True}

    # ---- aliases
    def get_alias(self, expr, alias_expr, params):
        c = self.server.cluster
        with c.lock:
            names = c.resolve(expr, dict(params, expand_wildcards=params.get("expand_wildcards", "all")),
                              allow_closed=True) if expr else sorted(c.indices)
            out = {}
            found = False
            for n in names:
                ix = c.indices[n]
                als = {}
                for a, props in ix.aliases.items():
                    if alias_expr is None or any(fnmatch.fnmatchcase(a, p) for p in alias_expr.split(",")):
                        als[a] = copy.deepcopy(props)
                if als:
                    found = True
                if als or alias_expr is None:
                    out[n] = {"aliases": als}
            if alias_expr is not None and not found:
                return 404, {"error": "alias [%s] missing" % alias_expr, "status": 404}
            return 200, out

    def update_aliases(self, body):
        c = self.server.cluster
        if not body or not isinstance(body.get("actions"), list) or not body["actions"]:
            raise ESError(400, "action_request_validation_exception",
                          "Validation Failed: 1: no actions specified;")
        with c.lock:
            c.stats["alias_requests"].append(body)
            # Apply to a scratch copy; commit only if every action succeeds,
            # so the whole request is atomic, as in Elasticsearch.
            aliases = {n: copy.deepcopy(ix.aliases) for n, ix in c.indices.items()}
            removed = set()

            def targets(action, spec):
                idx = spec.get("indices") or ([spec["index"]] if "index" in spec else None)
                if not idx:
                    raise ESError(400, "action_request_validation_exception",
                                  "Validation Failed: 1: One of [index] or [indices] is required;")
                out = []
                for e in idx:
                    if "*" in e:
                        out.extend(n for n in aliases if fnmatch.fnmatchcase(n, e) and n not in removed)
                    elif e in aliases and e not in removed:
                        out.append(e)
                    else:
                        raise not_found(e)
                return out

            for act in body["actions"]:
                if not isinstance(act, dict) or len(act) != 1:
                    raise ESError(400, "parse_exception", "Failed to parse alias action")
                kind, spec = next(iter(act.items()))
                if kind == "remove_index":
                    for n in targets(kind, spec):
                        removed.add(n)
                    continue
                if kind not in ("add", "remove"):
                    raise ESError(400, "parse_exception", "[aliases] unknown field [%s]" % kind)
                names = spec.get("aliases") or ([spec["alias"]] if "alias" in spec else None)
                if not names:
                    raise ESError(400, "action_request_validation_exception",
                                  "Validation Failed: 1: One of [alias] or [aliases] is required;")
                for n in targets(kind, spec):
                    for a in names:
                        if kind == "add":
                            aliases[n][a] = alias_props(spec)
                        else:
                            hits = [x for x in aliases[n] if fnmatch.fnmatchcase(x, a)]
                            if not hits and spec.get("must_exist", True) is not False:
                                raise ESError(404, "aliases_not_found_exception",
                                              "aliases [%s] missing" % a, extra={"resource.type": "aliases",
                                                                                "resource.id": a})
                            for x in hits:
                                del aliases[n][x]
            remaining = set(aliases) - removed
            for n in remaining:
                for a in aliases[n]:
                    if a in remaining:
                        raise ESError(400, "invalid_alias_name_exception",
                                      "Invalid alias name [%s]: an index or data stream exists with the "
                                      "same name as the alias" % a)
            for n in removed:
                del c.indices[n]
            for n in remaining:
                c.indices[n].aliases = aliases[n]
        return 200, {"acknowledged": True}

    # ---- cluster settings
    def cluster_settings(self, method, body, params):
        c = self.server.cluster
        flat = params.get("flat_settings") == "true"
        with c.lock:
            if method == "PUT":
                if not body or not (set(body) & {"persistent", "transient"}):
                    raise ESError(400, "action_request_validation_exception",
                                  "Validation Failed: 1: no settings to update;")
                for scope in ("persistent", "transient"):
                    upd = flatten(body.get(scope) or {})
                    store = getattr(c, scope)
                    for k, v in upd.items():
                        if not (k.startswith(("action.", "cluster.", "indices.", "search.",
                                              "logger.", "snapshot.", "xpack.", "plugins."))):
                            raise ESError(400, "illegal_argument_exception",
                                          "%s setting [%s], not recognized" % (scope, k))
                        if k == "action.auto_create_index" and v is not None and v not in ("true", "false") \
                                and not re.fullmatch(r"[-+]?[^,]+(,[-+]?[^,]+)*", v):
                            raise ESError(400, "illegal_argument_exception",
                                          "Can't parse [%s] for setting [action.auto_create_index]" % v)
                        if v is None:
                            store.pop(k, None)
                        else:
                            store[k] = v
                c.stats["cluster_settings_puts"] += 1
                return 200, {"acknowledged": True,
                             "persistent": body.get("persistent") and (flatten(body["persistent"]) if flat
                                                                       else nest({k: v for k, v in flatten(body["persistent"]).items() if v is not None})) or {},
                             "transient": body.get("transient") and nest({k: v for k, v in flatten(body["transient"]).items() if v is not None}) or {}}
            if method == "GET":
                out = {"persistent": dict(c.persistent) if flat else nest(c.persistent),
                       "transient": dict(c.transient) if flat else nest(c.transient)}
                if params.get("include_defaults") == "true":
                    d = {"action.auto_create_index": "true"}
                    out["defaults"] = d if flat else nest(d)
                return 200, out
        raise ESError(405, "method_not_allowed", "Incorrect HTTP method for uri [/_cluster/settings]")

    # ---- bulk
    def bulk(self, default_index, body, params):
        c = self.server.cluster
        if not body:
            raise ESError(400, "action_request_validation_exception", "Validation Failed: 1: no requests added;")
        if not body.endswith(b"\n"):
            raise ESError(400, "illegal_argument_exception",
                          "The bulk request must be terminated by a newline [\\n]")
        lines = body.split(b"\n")
        ops = []
        i = 0
        while i < len(lines):
            line = lines[i]
            i += 1
            if not line.strip():
                continue
            try:
                act = json.loads(line)
            except json.JSONDecodeError:
                raise ESError(400, "x_content_parse_exception",
                              "[1:1] Malformed action/metadata line [%d], expected START_OBJECT" % i)
            if not isinstance(act, dict) or len(act) != 1:
                raise ESError(400, "illegal_argument_exception",
                              "Malformed action/metadata line [%d], expected a simple value for field [_index]" % i)
            kind, meta = next(iter(act.items()))
            if kind not in ("index", "create", "delete", "update"):
                raise ESError(400, "illegal_argument_exception",
                              "Malformed action/metadata line [%d], expected field [create], [delete], "
                              "[index] or [update] but found [%s]" % (i, kind))
            bad = [k for k in meta if k not in ("_index", "_id", "routing", "_type", "_routing",
                                                "pipeline", "require_alias", "version", "version_type",
                                                "if_seq_no", "if_primary_term", "dynamic_templates")]
            if bad or ("_routing" in meta and not c.es6):
                raise ESError(400, "illegal_argument_exception",
                              "Action/metadata line [%d] contains an unknown parameter [%s]" % (i, (bad or ["_routing"])[0]))
            if "_type" in meta and c.major >= 8 and not c.opensearch:
                raise ESError(400, "illegal_argument_exception",
                              "Action/metadata line [%d] contains an unknown parameter [_type]" % i)
            src = None
            if kind != "delete":
                if i >= len(lines) or not lines[i].strip():
                    raise ESError(400, "illegal_argument_exception",
                                  "The bulk request must be terminated by a newline [\\n]")
                src = lines[i]
                i += 1
            ops.append((kind, meta, src))
        if c.es6:
            for kind, meta, _ in ops:
                if "_type" not in meta and not params.get("type"):
                    raise ESError(400, "action_request_validation_exception",
                                  "Validation Failed: 1: type is missing;")
        with c.lock:
            c.stats["bulk_requests"] += 1
            c.stats["bulk_inflight"] += 1
            c.stats["bulk_max_inflight"] = max(c.stats["bulk_max_inflight"], c.stats["bulk_inflight"])
        try:
            time.sleep(self.server.bulk_delay)
            items = []
            errors = False
            with c.lock:
                for kind, meta, src in ops:
                    item = self.bulk_item(kind, meta, src, default_index, params)
                    if item["status"] >= 300:
                        errors = True
                    items.append({kind: item})
                c.stats["bulk_items"] += len(ops)
        finally:
            with c.lock:
                c.stats["bulk_inflight"] -= 1
        return 200, {"took": 1, "errors": errors, "items": items}

    def item_fault(self, doc_id):
        c = self.server.cluster
        for r in c.faults:
            if r["count"] <= 0 or r["action"] not in ("item_429", "item_error"):
                continue
            if r.get("doc_id") is not None and r["doc_id"] != doc_id:
                continue
            if r.get("after", 0) > 0:
                r["after"] -= 1
                continue
            r["count"] -= 1
            c.stats["faults_fired"] += 1
            return r
        return None

    def bulk_item(self, kind, meta, src, default_index, params):
        c = self.server.cluster
        name = meta.get("_index") or default_index
        doc_id = meta.get("_id")
        base = {"_index": name, "_id": doc_id}
        if c.with_type():
            base["_type"] = meta.get("_type", params.get("type", "_doc"))
        if name is None:
            e = ESError(400, "action_request_validation_exception", "Validation Failed: 1: index is missing;")
            return dict(base, status=400, error=e.body()["error"])
        r = self.item_fault(doc_id)
        if r is not None:
            if r["action"] == "item_429":
                err = {"type": "es_rejected_execution_exception",
                       "reason": "rejected execution of org.elasticsearch.action.support.replication."
                                 "TransportWriteAction$1/WrappedActionListener on EsThreadPoolExecutor"
                                 "[name = test-node/write, queue capacity = 10000]"}
                return dict(base, status=429, error=err)
            err = {"type": r.get("error_type", "mapper_parsing_exception"),
                   "reason": r.get("reason", "failed to parse field [injected] of type [long] in document "
                                             "with id '%s'. Preview of field's value: 'x'" % doc_id)}
            return dict(base, status=int(r.get("status", 400)), error=err)
        try:
            names = c.resolve(name, {}, allow_closed=True, missing_ok=True)
            if len(names) > 1:
                ws = [n for n in names if c.indices[n].aliases.get(name, {}).get("is_write_index")]
                if len(ws) != 1:
                    raise ESError(400, "illegal_argument_exception",
                                  "no write index is defined for alias [%s]. The write index may be explicitly "
                                  "disabled using is_write_index=false or the alias points to multiple indices "
                                  "without one being designated as a write index" % name)
                names = ws
            if not names:
                if kind == "delete" or not c.auto_create_allowed(name) or meta.get("require_alias"):
                    reason = "no such index [%s]" % name
                    if not c.auto_create_allowed(name):
                        reason += " and [action.auto_create_index] is [false]"
                    raise ESError(404, "index_not_found_exception", reason, index=name)
                c.create_index(name, {}, {})
                names = [name]
            ix = c.indices[names[0]]
            base["_index"] = ix.name
            if ix.closed:
                raise ESError(400, "index_closed_exception", "closed", index=ix.name)
            if c.es6 and "_type" in meta and ix.mappings and meta["_type"] != ix.type_name:
                raise ESError(400, "illegal_argument_exception",
                              "Rejecting mapping update to [%s] as the final mapping would have more than "
                              "1 type: [%s, %s]" % (ix.name, ix.type_name, meta["_type"]))
            if c.es6 and "_type" in meta and not ix.mappings:
                ix.type_name = meta["_type"]
            if doc_id is None:
                doc_id = base64.urlsafe_b64encode(uuidlib.uuid4().bytes)[:20].decode()
                base["_id"] = doc_id
            routing = meta.get("routing", meta.get("_routing"))
            if (ix.mappings.get("_routing") or {}).get("required") and routing is None and kind != "delete":
                raise ESError(400, "routing_missing_exception",
                              "routing is required for [%s]/[_doc]/[%s]" % (ix.name, doc_id), index=ix.name)
            if kind == "delete":
                existed = ix.docs.pop(doc_id, None) or ix.pending.pop(doc_id, None)
                return dict(base, _version=1, result="deleted" if existed else "not_found",
                            _shards=self.shards(1), status=200 if existed else 404)
            try:
                doc = json.loads(src)
            except json.JSONDecodeError as e:
                raise ESError(400, "mapper_parsing_exception", "failed to parse",
                              extra={"caused_by": {"type": "json_parse_exception", "reason": str(e)}})
            if not isinstance(doc, dict):
                raise ESError(400, "mapper_parsing_exception", "failed to parse, document is empty")
            if kind == "update":
                raise ESError(400, "illegal_argument_exception", "update is not supported by this test double")
            if not ix.mappings:
                ix.mappings = {"properties": {}}
            # dynamic mapping updates of a rejected document are rolled back
            c.added = []
            try:
                c.check_object(ix, ix.mappings, doc, "", doc_id)
            except ESError:
                for props, k in reversed(c.added):
                    props.pop(k, None)
                raise
            exists = doc_id in ix.docs or doc_id in ix.pending
            if kind == "create" and exists:
                raise ESError(409, "version_conflict_engine_exception",
                              "[%s]: version conflict, document already exists (current version [1])" % doc_id,
                              index=ix.name)
            raw = json.dumps(doc, separators=(",", ":")).encode() if self.server.normalize else src
            if ix.refresh_off():
                ix.pending[doc_id] = (raw, routing)
            else:
                ix.docs[doc_id] = (raw, routing)
            return dict(base, _version=1, result="updated" if exists else "created",
                        _shards={"total": 1, "successful": 1, "failed": 0},
                        _seq_no=0, _primary_term=1, status=200 if exists else 201)
        except ESError as e:
            b = e.body()["error"]
            b.pop("root_cause", None)
            return dict(base, status=e.status, error=b)

    # ---- search, scroll, PIT
    def hit_bytes(self, name, doc_id, d, sort_vals):
        c = self.server.cluster
        parts = [b'{"_index":', json.dumps(name).encode()]
        if c.with_type():
            parts.append(b',"_type":"%s"' % c.indices[name].type_name.encode()
                         if name in c.indices else b',"_type":"_doc"')
        parts += [b',"_id":', json.dumps(doc_id).encode(), b',"_score":null']
        if d[1] is not None:
            parts += [b',"_routing":', json.dumps(d[1]).encode()]
        parts += [b',"_source":', d[0]]
        if sort_vals is not None:
            parts += [b',"sort":', json.dumps(sort_vals).encode()]
        parts.append(b"}")
        return b"".join(parts)

    def search_response(self, items, total, params, extra=b"", hits_sort=None):
        c = self.server.cluster
        hits = b",".join(self.hit_bytes(n, i, d, s) for (n, i, d, s) in items)
        # track_total_hits: false leaves the total out, as Elasticsearch does
        tot = b'"total":' + json.dumps(c.hits_total(total, params)).encode() + b"," \
            if total is not None else b""
        return (b'{' + extra + b'"took":1,"timed_out":false,"_shards":' +
                json.dumps(self.shards(1)).encode() +
                b',"hits":{' + tot + b'"max_score":null,"hits":[' + hits + b']}}')

    def parse_slice(self, body):
        s = body.get("slice")
        if s is None:
            return None
        if not isinstance(s, dict) or "id" not in s or "max" not in s:
            raise ESError(400, "x_content_parse_exception", "[slice] failed to parse field")
        sid, smax = int(s["id"]), int(s["max"])
        if smax <= 1:
            raise ESError(400, "illegal_argument_exception", "max must be greater than 1")
        if sid >= smax:
            raise ESError(400, "illegal_argument_exception", "max must be greater than id")
        if smax > 1024:
            raise ESError(400, "illegal_argument_exception",
                          "The number of slices [%d] is too large. It must be less than [1024]." % smax)
        return sid, smax

    def parse_sort(self, body, pit):
        c = self.server.cluster
        sort = body.get("sort")
        if sort is None:
            return []
        if not isinstance(sort, list):
            sort = [sort]
        keys = []
        for s in sort:
            if isinstance(s, str):
                field, order = s, "asc"
            elif isinstance(s, dict) and len(s) == 1:
                field, o = next(iter(s.items()))
                order = o.get("order", "asc") if isinstance(o, dict) else o
            else:
                raise ESError(400, "parsing_exception", "malformed sort format")
            if field == "_shard_doc" and not c.opensearch and (c.major, c.minor) < (7, 12):
                raise ESError(400, "illegal_argument_exception",
                              "No mapping found for [_shard_doc] in order to sort on")
            if field == "_shard_doc":
                if c.opensearch or not pit:
                    raise ESError(400, "search_phase_execution_exception", "all shards failed",
                                  extra={"phase": "query", "grouped": True},
                                  root={"type": "query_shard_exception",
                                        "reason": "No mapping found for [_shard_doc] in order to sort on"}
                                  ) if c.opensearch else ESError(
                                      400, "illegal_argument_exception",
                                      "[_shard_doc] sort field cannot be used without [point in time]")
            elif field == "_id" and c.major >= 8 and not c.opensearch:
                raise ESError(400, "illegal_argument_exception",
                              "Fielddata access on the _id field is disallowed, you can re-enable it by "
                              "updating the dynamic cluster setting: indices.id_field_data.enabled")
            elif field not in ("_doc", "_id", "_score"):
                raise ESError(400, "illegal_argument_exception",
                              "this test double sorts only on _doc, _id, _score and _shard_doc")
            keys.append((field, order))
        return keys

    def build_seq(self, snapshot, keys, slice_):
        """(position, (index, id, doc)) in sort order, restricted to a slice."""
        if slice_:
            sid, smax = slice_
            seq = [(pos, t) for pos, t in enumerate(snapshot) if doc_slice(t[1], smax) == sid]
        else:
            seq = list(enumerate(snapshot))
        if any(o == "desc" for _, o in keys):
            seq.reverse()
        if any(f == "_id" for f, _ in keys) and not any(f == "_doc" for f, _ in keys[:1]):
            seq.sort(key=lambda pt: pt[1][1], reverse=any(o == "desc" for _, o in keys))
        return seq

    @staticmethod
    def sort_vals(keys, pos, t):
        return [pos if f in ("_doc", "_shard_doc") else t[1] if f == "_id" else None for f, _ in keys]

    def after_start(self, seq, keys, after):
        """Index of the first entry of seq sorting after `after`."""
        if after is None:
            return 0
        if not keys:
            raise ESError(400, "illegal_argument_exception", "Sort must contain at least one field.")
        if not isinstance(after, list) or len(after) != len(keys):
            raise ESError(400, "illegal_argument_exception",
                          "search_after has %d value(s) but sort has %d." % (
                              len(after) if isinstance(after, list) else 1, len(keys)))
        desc = keys[0][1] == "desc"
        if keys[0][0] in ("_doc", "_shard_doc") and not desc:
            # positions are unique and increasing: binary search
            try:
                a0 = int(after[0])
            except (TypeError, ValueError):
                raise ESError(400, "illegal_argument_exception",
                              "Failed to parse search_after value [%s] with sort [%s]" % (after[0], keys[0][0]))
            lo, hi = 0, len(seq)
            while lo < hi:
                mid = (lo + hi) // 2
                if seq[mid][0] <= a0:
                    lo = mid + 1
                else:
                    hi = mid
            return lo
        for i, (pos, t) in enumerate(seq):
            v = self.sort_vals(keys, pos, t)
            if (v < after) if desc else (v > after):
                return i
        return len(seq)

    def page_items(self, seq, keys, start, size):
        return [(t[0], t[1], t[2], (self.sort_vals(keys, pos, t) if keys else None))
                for pos, t in seq[start:start + size]]

    def size_from(self, body, params, scroll):
        size = int(body.get("size", params.get("size", 10)))
        frm = int(body.get("from", params.get("from", 0)))
        if size < 0:
            raise ESError(400, "illegal_argument_exception", "[size] parameter cannot be negative, found [%d]" % size)
        return size, frm

    def search(self, expr, body, params):
        c = self.server.cluster
        body = body or {}
        q = body.get("query")
        if q is not None and q != {"match_all": {}}:
            raise ESError(400, "illegal_argument_exception", "this test double supports only match_all queries")
        slice_ = self.parse_slice(body)
        pit = body.get("pit")
        if pit is not None:
            return self.pit_search(expr, body, params, slice_)
        size, frm = self.size_from(body, params, "scroll" in params)
        with c.lock:
            names = c.resolve(expr or "_all", params)
            window = min(int(c.indices[n].settings.get("index.max_result_window", 10000)) for n in names) if names else 10000
            if "scroll" in params:
                keep = parse_duration(params["scroll"], "scroll")
                if size > window:
                    raise ESError(400, "search_phase_execution_exception", "all shards failed",
                                  extra={"phase": "query", "grouped": True},
                                  root={"type": "illegal_argument_exception",
                                        "reason": "Batch size is too large, size must be less than or equal to: [%d] "
                                                  "but was [%d]. Scroll batch sizes cost as much memory as result windows "
                                                  "so they are controlled by the [index.max_result_window] index level "
                                                  "setting." % (window, size)})
                if body.get("search_after") is not None:
                    raise ESError(400, "action_request_validation_exception",
                                  "Validation Failed: 1: `search_after` cannot be used in a scroll context.;")
            elif frm + size > window:
                raise ESError(400, "search_phase_execution_exception", "all shards failed",
                              extra={"phase": "query", "grouped": True},
                              root={"type": "illegal_argument_exception",
                                    "reason": "Result window is too large, from + size must be less than or equal "
                                              "to: [%d] but was [%d]." % (window, frm + size)})
            snap = [(n, i, d) for n in names for i, d in c.indices[n].docs.items()]
            keys = self.parse_sort(body, False)
            seq = self.build_seq(snap, keys, slice_)
            total = len(seq)
            if "scroll" in params:
                sid = base64.b64encode(os.urandom(24)).decode()
                c.scrolls[sid] = {"seq": seq, "pos": size, "size": size, "keys": keys,
                                  "expires": time.time() + keep, "total": total}
                items = self.page_items(seq, keys, 0, size)
                extra = b'"_scroll_id":' + json.dumps(sid).encode() + b","
                c.stats["scroll_requests"] += 1
            else:
                start = self.after_start(seq, keys, body.get("search_after"))
                items = self.page_items(seq, keys, start + frm, size)
                extra = b""
        return 200, self.search_response(items, total, params, extra)

    def context_missing(self, ident, what="search context"):
        return ESError(404, "search_phase_execution_exception", "all shards failed",
                       extra={"phase": "query", "grouped": True,
                              "failed_shards": [{"shard": -1, "index": None,
                                                 "reason": {"type": "search_context_missing_exception",
                                                            "reason": "No search context found for id [%s]" % ident}}]},
                       root={"type": "search_context_missing_exception",
                             "reason": "No search context found for id [%s]" % ident})

    def scroll(self, body, params):
        c = self.server.cluster
        body = body or {}
        sid = body.get("scroll_id", params.get("scroll_id"))
        keep = body.get("scroll", params.get("scroll"))
        if not sid:
            raise ESError(400, "action_request_validation_exception", "Validation Failed: 1: scrollId is missing;")
        with c.lock:
            c.stats["scroll_requests"] += 1
            ctx = c.scrolls.get(sid)
            if ctx is not None and time.time() > ctx["expires"]:
                del c.scrolls[sid]
                ctx = None
            if ctx is None:
                raise self.context_missing(abs(hash(sid)) % 100000)
            if keep:
                ctx["expires"] = time.time() + parse_duration(keep, "scroll")
            items = self.page_items(ctx["seq"], ctx["keys"], ctx["pos"], ctx["size"])
            ctx["pos"] += ctx["size"]
            total = ctx["total"]
        return 200, self.search_response(items, total, params, b'"_scroll_id":' + json.dumps(sid).encode() + b",")

    def clear_scroll(self, body, parts):
        c = self.server.cluster
        ids = []
        if len(parts) == 3:
            ids = parts[2].split(",")
        elif body:
            s = body.get("scroll_id")
            ids = s if isinstance(s, list) else [s]
        if not ids:
            raise ESError(400, "action_request_validation_exception",
                          "Validation Failed: 1: no scroll ids specified;")
        with c.lock:
            if ids == ["_all"]:
                n = len(c.scrolls)
                c.scrolls.clear()
            else:
                n = 0
                for i in ids:
                    if c.scrolls.pop(i, None) is not None:
                        n += 1
        if n == 0 and ids != ["_all"]:
            return 404, {"succeeded": True, "num_freed": 0}
        return 200, {"succeeded": True, "num_freed": n}

    def make_pit(self, expr, params):
        c = self.server.cluster
        if "keep_alive" not in params:
            raise ESError(400, "action_request_validation_exception",
                          "Validation Failed: 1: [keep_alive] is not specified;")
        keep = parse_duration(params["keep_alive"])
        with c.lock:
            names = c.resolve(expr, params)
            snap = [(n, i, d) for n in names for i, d in c.indices[n].docs.items()]
            pid = base64.urlsafe_b64encode(os.urandom(30)).decode()
            c.pits[pid] = {"snap": snap, "keep_alive": keep, "expires": time.time() + keep,
                           "created": time.time(), "slices": {}}
        return pid, len(names)

    def es_pit_create(self, expr, params):
        c = self.server.cluster
        if not c.has_es_pit():
            raise ESError(400, "illegal_argument_exception" if c.opensearch else "invalid_index_name_exception",
                          "no handler found for uri [/%s/_pit] and method [POST]" % expr if c.opensearch
                          else "Invalid index name [_pit], must not start with '_'.", index=None if c.opensearch else "_pit")
        pid, _ = self.make_pit(expr, params)
        return 200, {"id": pid}

    def os_pit_create(self, expr, params):
        c = self.server.cluster
        if not c.has_os_pit():
            raise ESError(400, "illegal_argument_exception",
                          "request [/%s/_search/point_in_time] contains unrecognized parameter: [keep_alive]" % expr)
        pid, n = self.make_pit(expr, params)
        return 200, {"pit_id": pid, "_shards": self.shards(n), "creation_time": int(time.time() * 1000)}

    def es_pit_delete(self, body):
        c = self.server.cluster
        if not c.has_es_pit():
            raise ESError(400, "invalid_index_name_exception", "Invalid index name [_pit], must not start with '_'.",
                          index="_pit")
        pid = (body or {}).get("id")
        if not pid:
            raise ESError(400, "action_request_validation_exception", "Validation Failed: 1: point in time id is missing;")
        with c.lock:
            found = c.pits.pop(pid, None) is not None
        return (200 if found else 404), {"succeeded": True, "num_freed": 1 if found else 0}

    def os_pit_delete(self, body):
        c = self.server.cluster
        if not c.has_os_pit():
            raise ESError(400, "illegal_argument_exception", "no handler found for uri [/_search/point_in_time]")
        ids = (body or {}).get("pit_id")
        if not ids:
            raise ESError(400, "action_request_validation_exception", "Validation Failed: 1: no pit ids specified;")
        if not isinstance(ids, list):
            ids = [ids]
        out = []
        with c.lock:
            for i in ids:
                out.append({"pit_id": i, "successful": c.pits.pop(i, None) is not None})
        return 200, {"pits": out}

    def pit_search(self, expr, body, params, slice_):
        c = self.server.cluster
        if not (c.has_es_pit() or c.has_os_pit()):
            raise ESError(400, "parsing_exception", "Unknown key for a START_OBJECT in [pit].")
        if expr is not None:
            raise ESError(400, "action_request_validation_exception",
                          "Validation Failed: 1: [indices] cannot be used with point in time. Do not specify "
                          "any index with point in time.;")
        if "scroll" in params:
            raise ESError(400, "action_request_validation_exception",
                          "Validation Failed: 1: using [point in time] is not allowed in a scroll context;")
        if slice_ and not c.opensearch and (c.major, c.minor) < (7, 15):
            raise ESError(400, "action_request_validation_exception",
                          "Validation Failed: 1: [slice] can only be used with [scroll] or [point-in-time] requests;")
        pit = body["pit"]
        pid = pit.get("id")
        size, frm = self.size_from(body, params, False)
        with c.lock:
            c.stats["pit_searches"] += 1
            ctx = c.pits.get(pid)
            if ctx is not None and time.time() > ctx["expires"]:
                del c.pits[pid]
                ctx = None
            if ctx is None:
                raise self.context_missing(abs(hash(pid)) % 100000)
            if pit.get("keep_alive"):
                ctx["expires"] = time.time() + parse_duration(pit["keep_alive"])
            if frm + size > 10000:
                raise ESError(400, "illegal_argument_exception",
                              "Result window is too large, from + size must be less than or equal to: [10000]")
            b = dict(body)
            if c.has_es_pit() and b.get("sort") is not None:
                # ES adds _shard_doc as implicit tiebreaker when missing
                srt = b["sort"] if isinstance(b["sort"], list) else [b["sort"]]
                if not any((isinstance(s, dict) and "_shard_doc" in s) or s == "_shard_doc" for s in srt):
                    b["sort"] = srt + [{"_shard_doc": "asc"}]
            keys = self.parse_sort(b, True)
            # the PIT's documents in this slice and order, computed once
            ck = (slice_, tuple(keys))
            seq = ctx["slices"].get(ck)
            if seq is None:
                seq = ctx["slices"][ck] = self.build_seq(ctx["snap"], keys, slice_)
            total = len(seq)
            start = self.after_start(seq, keys, b.get("search_after"))
            items = self.page_items(seq, keys, start + frm, size)
        extra = b'"pit_id":' + json.dumps(pid).encode() + b","
        if body.get("track_total_hits") is False:
            total = None
        return 200, self.search_response(items, total, params, extra)

    # ---- snapshots
    def snapshot(self, method, parts, body, params):
        c = self.server.cluster
        n = len(parts)
        with c.lock:
            if n == 0:
                if method == "GET":
                    return 200, copy.deepcopy(c.repos)
                raise ESError(405, "method_not_allowed", "Incorrect HTTP method for uri [/_snapshot]")
            repo = parts[0]
            if n == 1:
                if method in ("PUT", "POST"):
                    if not body or "type" not in body:
                        raise ESError(400, "action_request_validation_exception",
                                      "Validation Failed: 1: type is missing;")
                    t = body["type"]
                    st = body.get("settings") or {}
                    if t not in ("fs", "s3", "url", "azure", "gcs", "hdfs", "source"):
                        raise ESError(500, "repository_exception",
                                      "[%s] repository type [%s] does not exist" % (repo, t))
                    if t == "fs" and "location" not in st:
                        raise ESError(500, "repository_exception",
                                      "[%s] missing location" % repo)
                    if t == "s3" and "bucket" not in st:
                        raise ESError(500, "repository_exception",
                                      "[%s] Could not determine repository generation from root blobs"
                                      % repo)
                    old = c.repos.get(repo)
                    c.repos[repo] = {"type": t, "settings": {k: str(v) for k, v in st.items()},
                                     "snapshots": old["snapshots"] if old else {}}
                    return 200, {"acknowledged": True}
                if method == "GET":
                    if repo not in c.repos and repo not in ("_all", "*"):
                        raise ESError(404, "repository_missing_exception", "[%s] missing" % repo)
                    names = list(c.repos) if repo in ("_all", "*") else [repo]
                    return 200, {r: {"type": c.repos[r]["type"], "settings": c.repos[r]["settings"]} for r in names}
                if method == "DELETE":
                    if c.repos.pop(repo, None) is None:
                        raise ESError(404, "repository_missing_exception", "[%s] missing" % repo)
                    return 200, {"acknowledged": True}
            if repo not in c.repos:
                raise ESError(404, "repository_missing_exception", "[%s] missing" % repo)
            R = c.repos[repo]
            fs_load(R)
            snap_name = parts[1]
            if n == 2 and method in ("PUT", "POST"):
                return self.create_snapshot(repo, R, snap_name, body or {}, params)
            if n == 2 and method == "GET":
                if snap_name in ("_all", "*"):
                    sn = sorted(R["snapshots"].values(), key=lambda s: s["start"])
                else:
                    sn = []
                    for nm in snap_name.split(","):
                        hits = [s for k, s in R["snapshots"].items() if fnmatch.fnmatchcase(k, nm)]
                        if not hits and "*" not in nm and params.get("ignore_unavailable") != "true":
                            raise ESError(404, "snapshot_missing_exception", "[%s:%s] is missing" % (repo, nm))
                        sn.extend(hits)
                infos = [c.snapshot_info(repo, s) for s in sn]
                out = {"snapshots": infos}
                if c.major >= 8 or c.opensearch is False and (c.major, c.minor) >= (7, 16):
                    out["total"] = len(infos)
                    out["remaining"] = 0
                return 200, out
            if n == 2 and method == "DELETE":
                for nm in snap_name.split(","):
                    if nm not in R["snapshots"]:
                        raise ESError(404, "snapshot_missing_exception", "[%s:%s] is missing" % (repo, nm))
                for nm in snap_name.split(","):
                    del R["snapshots"][nm]
                    fs_delete(R, nm)
                return 200, {"acknowledged": True}
            if n == 3 and parts[2] == "_status" and method == "GET":
                s = R["snapshots"].get(snap_name)
                if s is None:
                    raise ESError(404, "snapshot_missing_exception", "[%s:%s] is missing" % (repo, snap_name))
                state = c.snapshot_state(s)
                st = {"IN_PROGRESS": "STARTED"}.get(state, state)
                return 200, {"snapshots": [{"snapshot": snap_name, "repository": repo, "uuid": s["uuid"],
                                            "state": st, "include_global_state": s["global"],
                                            "shards_stats": {"initializing": 0, "started": 1 if st == "STARTED" else 0,
                                                             "finalizing": 0, "done": 0 if st == "STARTED" else len(s["indices"]),
                                                             "failed": 0, "total": len(s["indices"])},
                                            "indices": {i: {} for i in s["indices"]}}]}
            if n == 3 and parts[2] == "_restore" and method == "POST":
                return self.restore_snapshot(repo, R, snap_name, body or {}, params)
        raise ESError(400, "illegal_argument_exception", "no handler found for uri")

    def create_snapshot(self, repo, R, name, body, params):
        c = self.server.cluster
        if name in R["snapshots"]:
            raise ESError(400, "invalid_snapshot_name_exception",
                          "[%s:%s] Invalid snapshot name [%s], snapshot with the same name already exists"
                          % (repo, name, name))
        if name != name.lower() or re.search(r'[\\/*?"<>| ,#]', name) or name.startswith("_"):
            raise ESError(400, "invalid_snapshot_name_exception",
                          "[%s:%s] Invalid snapshot name [%s], must be lowercase" % (repo, name, name))
        for s in R["snapshots"].values():
            if c.snapshot_state(s) == "IN_PROGRESS" and c.es6:
                raise ESError(503, "concurrent_snapshot_execution_exception",
                              "[%s:%s] a snapshot is already running" % (repo, name))
        idx = body.get("indices", "*")
        if isinstance(idx, list):
            idx = ",".join(idx)
        names = c.resolve(idx, {"expand_wildcards": body.get("expand_wildcards", "all"),
                                "ignore_unavailable": str(body.get("ignore_unavailable", False)).lower()},
                          allow_closed=True)
        data = {n: c.indices[n].clone(n) for n in names}
        delay = float(c.fault_opts.get("snapshot_delay", c.snapshot_delay))
        snap = {"name": name, "uuid": base64.urlsafe_b64encode(uuidlib.uuid4().bytes)[:22].decode(),
                "indices": names, "global": bool(body.get("include_global_state", True)),
                "start": time.time(), "end": None, "ready_at": time.time() + delay,
                "state": "IN_PROGRESS", "outcome": c.fault_opts.get("snapshot_outcome", "SUCCESS"),
                "data": data}
        R["snapshots"][name] = snap
        fs_save(R, snap)
        if params.get("wait_for_completion") == "true":
            while c.snapshot_state(snap) == "IN_PROGRESS":
                c.lock.release()
                try:
                    time.sleep(0.05)
                finally:
                    c.lock.acquire()
            return 200, {"snapshot": c.snapshot_info(repo, snap)}
        return 200, {"accepted": True}

    def restore_snapshot(self, repo, R, name, body, params):
        c = self.server.cluster
        s = R["snapshots"].get(name)
        if s is None:
            raise ESError(404, "snapshot_missing_exception", "[%s:%s] is missing" % (repo, name))
        state = c.snapshot_state(s)
        if state not in ("SUCCESS", "PARTIAL"):
            raise ESError(500 if state != "IN_PROGRESS" else 400, "snapshot_restore_exception",
                          "[%s:%s] unsupported snapshot state [%s]" % (repo, name, state))
        idx = body.get("indices", "*")
        if isinstance(idx, list):
            idx = ",".join(idx)
        chosen = []
        for pat in idx.split(","):
            hits = [n for n in s["indices"] if fnmatch.fnmatchcase(n, pat)]
            if not hits and "*" not in pat and not body.get("ignore_unavailable"):
                raise ESError(404, "snapshot_restore_exception",
                              "[%s:%s] index [%s] not found in snapshot" % (repo, name, pat))
            chosen.extend(h for h in hits if h not in chosen)
        if state == "PARTIAL" and not body.get("partial"):
            raise ESError(500, "snapshot_restore_exception",
                          "[%s:%s] index [%s] wasn't fully snapshotted - cannot restore"
                          % (repo, name, s["indices"][0]))
        pat = body.get("rename_pattern")
        repl = body.get("rename_replacement")
        targets = {}
        for n in chosen:
            t = n
            if pat is not None and repl is not None:
                t = re.sub(pat, re.sub(r"\$(\d)", r"\\\1", repl), n)
            if t in targets.values():
                raise ESError(500, "snapshot_restore_exception",
                              "[%s:%s] indices [%s] and [%s] are renamed into the same index [%s]"
                              % (repo, name, n, n, t))
            targets[n] = t
        for n, t in targets.items():
            if t in c.indices and not c.indices[t].closed:
                raise ESError(500, "snapshot_restore_exception",
                              "[%s:%s] cannot restore index [%s] because an open index with same name already "
                              "exists in the cluster. Either close or delete the existing index or restore the "
                              "index under a different name by providing a rename pattern and replacement name"
                              % (repo, name, t))
        include_aliases = body.get("include_aliases", True)
        idx_settings = c.normalize_settings(body.get("index_settings") or {}, False)
        ignore = body.get("ignore_index_settings") or []
        if isinstance(ignore, str):
            ignore = ignore.split(",")
        for n, t in targets.items():
            ix = s["data"][n].clone(t)
            ix.settings["index.provided_name"] = t
            ix.settings["index.uuid"] = ix.uuid
            for k in ignore:
                ix.settings.pop(k if k.startswith("index.") else "index." + k, None)
            ix.settings.update({k: v for k, v in idx_settings.items() if v is not None})
            if not include_aliases:
                ix.aliases = {}
            else:
                for a in ix.aliases:
                    if a in c.indices:
                        raise ESError(500, "snapshot_restore_exception",
                                      "[%s:%s] cannot restore alias [%s]: an index with that name exists"
                                      % (repo, name, a))
            c.indices[t] = ix
        if params.get("wait_for_completion") == "true":
            return 200, {"snapshot": {"snapshot": name, "indices": list(targets.values()),
                                      "shards": {"total": len(targets), "failed": 0, "successful": len(targets)}}}
        return 200, {"accepted": True}


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128


def main():
    ap = argparse.ArgumentParser(description="Elasticsearch/OpenSearch API test double (not Elasticsearch)")
    ap.add_argument("--flavor", default="es7", choices=sorted(FLAVORS))
    ap.add_argument("--host", default="127.0.0.1")
    ap.add_argument("--port", type=int, default=0, help="0 = let the kernel choose")
    ap.add_argument("--port-file", help="write the bound port here once listening")
    ap.add_argument("--pid-file")
    ap.add_argument("--basic", help="require HTTP basic auth user:password")
    ap.add_argument("--api-key", help="require ApiKey id:key")
    ap.add_argument("--bearer", help="require Bearer token")
    ap.add_argument("--sigv4", help="require AWS SigV4 signatures (service es): ACCESS_KEY:SECRET:REGION")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--snapshot-delay", type=float, default=0.3,
                    help="seconds a snapshot stays IN_PROGRESS")
    ap.add_argument("--bulk-delay", type=float, default=0.0,
                    help="seconds each bulk request takes (to observe concurrency)")
    ap.add_argument("--normalize-source", action="store_true",
                    help="store _source re-serialised instead of verbatim")
    ap.add_argument("--faults", help="JSON file with initial fault rules (same body as POST /_test/faults)")
    ap.add_argument("--verbose", action="store_true")
    a = ap.parse_args()

    srv = Server((a.host, a.port), Handler)
    srv.cluster = Cluster(a.flavor, a.snapshot_delay)
    srv.verbose = a.verbose
    srv.basic, srv.api_key, srv.bearer, srv.sigv4 = a.basic, a.api_key, a.bearer, a.sigv4
    srv.bulk_delay = a.bulk_delay
    srv.normalize = a.normalize_source
    if a.faults:
        with open(a.faults) as fh:
            spec = json.load(fh)
        for r in spec.get("rules", []):
            r.setdefault("count", 1)
            r.setdefault("after", 0)
            srv.cluster.faults.append(r)
        for k in ("snapshot_outcome", "snapshot_delay"):
            if k in spec:
                srv.cluster.fault_opts[k] = spec[k]
    if a.tls_cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(a.tls_cert, a.tls_key)
        srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
    port = srv.server_address[1]
    if a.pid_file:
        with open(a.pid_file, "w") as fh:
            fh.write("%d\n" % os.getpid())
    if a.port_file:
        tmp = a.port_file + ".tmp"
        with open(tmp, "w") as fh:
            fh.write("%d\n" % port)
        os.rename(tmp, a.port_file)
    signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=srv.shutdown).start())
    sys.stderr.write("es_server: %s %s listening on %s:%d\n" % (a.flavor, FLAVORS[a.flavor]["number"], a.host, port))
    try:
        srv.serve_forever(poll_interval=0.2)
    except KeyboardInterrupt:
        pass
    srv.server_close()


if __name__ == "__main__":
    main()
