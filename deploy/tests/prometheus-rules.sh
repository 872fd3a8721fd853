#!/bin/bash
# deploy/tests/prometheus-rules.sh - deploy/prometheus/envsync-alerts.yml is
# a valid Prometheus rules file: `promtool check rules` when promtool is
# installed (Debian's prometheus package, ~100 MB, is not in the install
# list); always: yamllint, the rules file structure (groups, rules, alert,
# expr, for, labels, annotations) checked in Python, every expression parsed
# with the Prometheus UI's PromQL grammar (@prometheus-io/lezer-promql, npm),
# only envsync's documented metric names, and the three alerts of
# docs/operations.md present.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/deploy/tests/deploy-lib.sh"
set -e
need_cmd yamllint yamllint
RULES=$top_srcdir/deploy/prometheus/envsync-alerts.yml
[ -r "$RULES" ] || fail "no $RULES"

out=$(yamllint -f parsable -c "$top_srcdir/deploy/tests/yamllint.yml" "$RULES" 2>&1) \
    || fail "yamllint: $out"

out=$(python3 - "$RULES" "$top_srcdir/docs/operations.md" <<'PY' 2>&1
import re, sys, yaml
path, doc = sys.argv[1], sys.argv[2]
known = {"envsync_job_state", "envsync_job_start_timestamp_seconds",
         "envsync_job_end_timestamp_seconds", "envsync_job_duration_seconds",
         "envsync_job_exit_code", "envsync_job_last_success_timestamp_seconds",
         "envsync_phase_duration_seconds", "envsync_bytes_total", "envsync_rows_total",
         "envsync_artifact_size_bytes"}
errs = []
d = yaml.safe_load(open(path))
if set(d) != {"groups"} or not isinstance(d["groups"], list):
    errs.append("top level must be exactly `groups:` (a list)")
alerts = set()
for g in d.get("groups", []):
    if set(g) - {"name", "interval", "rules", "limit"} or "name" not in g:
        errs.append("group keys: %s" % sorted(g))
    for r in g.get("rules", []):
        name = r.get("alert") or r.get("record")
        extra = set(r) - {"alert", "record", "expr", "for", "keep_firing_for", "labels", "annotations"}
        if extra:
            errs.append("%s: unknown keys %s" % (name, sorted(extra)))
        if not r.get("alert") or not isinstance(r.get("expr"), str):
            errs.append("%s: an alert needs `alert` and a string `expr`" % name)
            continue
        alerts.add(r["alert"])
        if "for" in r and not re.fullmatch(r"(\d+(ms|s|m|h|d|w|y))+", str(r["for"])):
            errs.append("%s: `for: %s` is not a Prometheus duration" % (name, r["for"]))
        if (r.get("labels") or {}).get("severity") not in ("warning", "critical"):
            errs.append("%s: labels.severity must be warning or critical" % name)
        for k in ("summary", "description"):
            if not (r.get("annotations") or {}).get(k):
                errs.append("%s: no annotations.%s" % (name, k))
        for k, v in (r.get("annotations") or {}).items():
            if v.count("{{") != v.count("}}"):
                errs.append("%s: unbalanced template in annotations.%s" % (name, k))
        expr = re.sub(r'"[^"]*"', '""', r["expr"])
        for ident in set(re.findall(r"\b(envsync_[a-z_]+)\b", expr)) - known:
            errs.append("%s: unknown metric %s" % (name, ident))
        for m in re.findall(r"\$labels\.([a-z_]+)", str(r.get("annotations"))):
            if m not in ("job", "environment"):
                errs.append("%s: annotation uses $labels.%s, not kept by `by (job, environment)`" % (name, m))
want = {"EnvsyncJobFailed", "EnvsyncJobRunningTooLong", "EnvsyncNoRecentSuccess"}
if not want <= alerts:
    errs.append("missing alerts: %s" % sorted(want - alerts))
text = open(doc).read()
for a in sorted(alerts):
    if a not in text:
        errs.append("%s is not described in docs/operations.md" % a)
for e in errs:
    print(e)
print("%d alerts, %d problems" % (len(alerts), len(errs)))
sys.exit(1 if errs else 0)
PY
) || fail "rules file structure:
$out"
note "$out"

node_checker
out=$(node "$CHECK_JS" promql "$RULES" 2>&1) || fail "PromQL:
$out"
note "$out"

if command -v promtool >/dev/null 2>&1; then
    out=$(promtool check rules "$RULES" 2>&1) || fail "promtool check rules:
$out"
    note "promtool: $out"
else
    note "promtool not installed (apt-get install prometheus): checked without it"
fi
pass
