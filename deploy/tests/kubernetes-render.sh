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

# The overlays are written for the Kustomize of kubectl 1.20 (Debian 12's
# kubernetes-client, Kustomize v2.0.3) and must render the same with a newer
# kubectl.  When the installed kubectl is another one (here: a vendor
# package owning /usr/bin/kubectl, which kubernetes-client conflicts with),
# Debian's is unpacked from its package into the build tree (from apt's
# cache, else `apt-get download`) and both renderings are compared.
k120=$top_builddir/deploy/tests/kubectl-1.20/usr/bin/kubectl
if kubectl version --client 2>/dev/null | grep -q 'GitVersion:"v1\.20\.'; then
    note "kubectl is 1.20: rendered with it"
else
    if [ ! -x "$k120" ]; then
        deb=$(ls /var/cache/apt/archives/kubernetes-client_*1.20*.deb 2>/dev/null | tail -1 || true)
        if [ -z "$deb" ]; then
            mkdir -p "$T/deb"
            (cd "$T/deb" && apt-get download kubernetes-client >/dev/null 2>&1) || true
            deb=$(ls "$T"/deb/kubernetes-client_*.deb 2>/dev/null | tail -1 || true)
        fi
        if [ -n "$deb" ]; then
            mkdir -p "$top_builddir/deploy/tests/kubectl-1.20"
            dpkg-deb -x "$deb" "$top_builddir/deploy/tests/kubectl-1.20"
        fi
    fi
    if [ -x "$k120" ] && "$k120" version --client 2>/dev/null | grep -q 'GitVersion:"v1\.20\.'; then
        for e in "${ENVS[@]}"; do
            "$k120" kustomize "$K8S_DIR/overlays/$e" >"$T/rendered/$e.k120.yaml" 2>"$T/rendered/$e.k120.err" \
                || fail "kubectl 1.20 kustomize overlays/$e failed: $(cat "$T/rendered/$e.k120.err")"
            cmp -s "$T/rendered/$e.yaml" "$T/rendered/$e.k120.yaml" \
                || fail "overlays/$e renders differently with kubectl 1.20:
$(diff "$T/rendered/$e.k120.yaml" "$T/rendered/$e.yaml" | head -30)"
        done
        note "kubectl 1.20 (Kustomize v2.0.3) renders every overlay identically"
    else
        note "kubectl 1.20 not available (no kubernetes-client package to unpack): rendered with $(kubectl version --client 2>/dev/null | head -1) only"
    fi
fi

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
