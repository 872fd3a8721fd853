#!/bin/bash
# deploy/tests/kubernetes-render.sh - every overlay renders with `kubectl
# kustomize`, passes yamllint (sources and output), and keeps the
# invariants of deploy/tests/check-manifests.py (Forbid, deadline above the
# envsync timeout, podFailurePolicy, non-root, read-only root, args naming a
# job of the environment's config, every file and variable it needs).
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/deploy/tests/deploy-lib.sh"
set -e
need_cmd yamllint yamllint
es_tmpdir
render_overlays
note "rendered: ${ENVS[*]}"

out=$(yamllint -f parsable -c "$top_srcdir/deploy/tests/yamllint.yml" \
        "$K8S_DIR" "$top_srcdir/deploy/prometheus" "$T"/rendered/*.yaml 2>&1) \
    || fail "yamllint:
$out"

for e in "${ENVS[@]}"; do
    out=$(python3 "$top_srcdir/deploy/tests/check-manifests.py" "$e" "$T/rendered/$e.yaml" \
            "$K8S_DIR/overlays/$e/settings.yaml" 2>&1) || fail "invariants:
$out"
    note "$out"
done

# the checker is not a no-op: break a rendered overlay in several ways
e=staging
broken() {  # SED-EXPR EXPECTED-MESSAGE
    sed -e "$1" "$T/rendered/$e.yaml" >"$T/broken.yaml"
    set +e
    out=$(python3 "$top_srcdir/deploy/tests/check-manifests.py" "$e" "$T/broken.yaml" \
            "$K8S_DIR/overlays/$e/settings.yaml" 2>&1)
    local rc=$?
    set -e
    [ "$rc" = 1 ] && printf '%s' "$out" | grep -q -- "$2" \
        || fail "check-manifests.py missed: $1 (rc $rc): $out"
}
broken 's/concurrencyPolicy: Forbid/concurrencyPolicy: Allow/' "not Forbid"
broken 's/readOnlyRootFilesystem: true/readOnlyRootFilesystem: false/' "root filesystem not read-only"
broken 's/^\(            \)- whitehall-mysql$/\1- whitehall-mysq/' "args name job whitehall-mysq"
broken 's/^\( *\)- 11$/\1- 12/' "does not FailJob on exit codes \[11\]"
broken 's/activeDeadlineSeconds: .*/activeDeadlineSeconds: 600/' "not above the job's timeout"
broken 's/path: secrets\/sanitise-key/path: secrets\/other/' "sanitise-key (named in"
broken 's/runAsNonRoot: true/runAsNonRoot: false/' "non-root"
pass
