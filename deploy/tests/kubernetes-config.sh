#!/bin/bash
# deploy/tests/kubernetes-config.sh - what a pod of each rendered CronJob
# sees is a configuration the built envsync accepts: the /etc/envsync
# projected volume is rebuilt from the rendered ConfigMap items and the
# Secret items (dummy values), its paths moved under a scratch directory,
# the Secret environment variables set, and `envsync check --offline` must
# pass (it parses every option, reads every secret file and sanitise rules
# file, and initialises every plugin, without touching a server).  Then:
# without one of the mounted files it must fail with exit 3 (so the check
# really reads them), and the "suspend one phase" example of
# docs/operations.md (`enabled = false` in a phase group) must be accepted.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/deploy/tests/deploy-lib.sh"
set -e
[ -x "$ENVSYNC" ] || fail "no $ENVSYNC (build first)"
es_tmpdir
render_overlays

for e in "${ENVS[@]}"; do
    root=$T/pods/$e
    # one pod per CronJob; every CronJob of an environment mounts the same
    # items, so each pod's directory is checked
    python3 - "$T/rendered/$e.yaml" "$root" >"$T/$e.pods" <<'PY'
import os, sys, yaml
docs = [d for d in yaml.safe_load_all(open(sys.argv[1])) if d]
root = sys.argv[2]
cms = {d["metadata"]["name"]: d.get("data", {}) for d in docs if d["kind"] == "ConfigMap"}
for cj in (d for d in docs if d["kind"] == "CronJob"):
    name = cj["metadata"]["name"]
    pod = cj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    c = pod["containers"][0]
    vols = {v["name"]: v for v in pod["volumes"]}
    mount = next(m for m in c["volumeMounts"] if m["mountPath"] == "/etc/envsync")
    base = os.path.join(root, name, "etc/envsync")
    for src in vols[mount["name"]]["projected"]["sources"]:
        for kind, obj in src.items():
            for it in obj.get("items", []):
                p = os.path.join(base, it["path"])
                os.makedirs(os.path.dirname(p), exist_ok=True)
                if kind == "configMap":
                    text = cms[obj["name"]][it["key"]]
                else:   # a dummy secret, long enough for an HMAC key
                    text = "dummy-%s-0123456789abcdef\n" % it["key"]
                with open(p, "w") as f:
                    f.write(text)
    env = [x["name"] for x in c.get("env", []) if "valueFrom" in x]
    print(name, os.path.join(root, name), " ".join(env))
PY
    while read -r cj dir envs; do
        conf=$dir/etc/envsync/envsync.conf
        [ -f "$conf" ] || fail "$e: $cj mounts no envsync.conf"
        sed -i "s|/etc/envsync/|$dir/etc/envsync/|g" "$conf"
        envargs=()
        for v in $envs; do envargs+=("$v=dummy-value"); done
        set +e
        out=$(env "${envargs[@]}" "$ENVSYNC" -c "$conf" check --offline 2>&1)
        rc=$?
        set -e
        [ "$rc" = 0 ] || fail "$e: $cj: envsync check --offline of the pod's config: exit $rc:
$out"
    done <"$T/$e.pods"
    note "$e: $(wc -l <"$T/$e.pods") pods' configurations pass envsync check --offline"
done

# a missing mounted file is noticed
read -r cj dir envs < <(grep envsync-whitehall-mysql "$T/staging.pods")
envargs=()
for v in $envs; do envargs+=("$v=dummy-value"); done
mv "$dir/etc/envsync/secrets/sanitise-key" "$T/sanitise-key"
run_envsync_env() { set +e; out=$(env "${envargs[@]}" "$ENVSYNC" "$@" 2>&1); rc=$?; set -e; }
run_envsync_env -c "$dir/etc/envsync/envsync.conf" check --offline
expect_rc 3 "staging without secrets/sanitise-key"
expect_out "sanitise-key" "the message names the missing file"
mv "$T/sanitise-key" "$dir/etc/envsync/secrets/sanitise-key"

# docs/operations.md, "Suspend one phase": store switched off in staging
sed 's|store = { storage = "staging"; };|store = { storage = "staging"; enabled = false; };|' \
    "$dir/etc/envsync/envsync.conf" >"$T/suspended.conf"
[ "$(grep -c 'enabled = false' "$T/suspended.conf")" -ge 1 ] || fail "example edit did not apply"
run_envsync_env -c "$T/suspended.conf" check --offline
expect_rc 0 "staging with a phase suspended (enabled = false)"
grep -q 'store = { storage = "staging"; enabled = false; };' "$top_srcdir/docs/operations.md" \
    || fail "docs/operations.md no longer shows the enabled = false example this test checks"
pass
