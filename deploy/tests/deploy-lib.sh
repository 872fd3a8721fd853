# deploy/tests/deploy-lib.sh - sourced by the deploy/tests/*.sh tests after
# tests/lib.sh.
#
# render_overlays: renders every overlays/<env> with `kubectl kustomize` into
#   $T/rendered/<env>.yaml and sets ENVS (the environment names).
# node_checker: installs deploy/tests/schema (package.json + lockfile, `npm
#   ci`) into $top_builddir/deploy/tests/node once per lockfile and sets
#   CHECK_JS.  npm's cache makes later installs work offline; when npm
#   cannot install, the test FAILS (it never skips: a validator that did
#   not run validated nothing).

K8S_DIR=$top_srcdir/deploy/kubernetes

need_cmd() {  # CMD PACKAGE
    command -v "$1" >/dev/null 2>&1 \
        || fail "$1 not found: apt-get install $2 (scripts/install-deps.sh installs it)"
}

render_overlays() {
    need_cmd kubectl kubernetes-client
    mkdir -p "$T/rendered"
    ENVS=()
    local d e
    for d in "$K8S_DIR"/overlays/*/; do
        e=$(basename "$d")
        [ -f "$d/kustomization.yaml" ] || continue
        kubectl kustomize "$d" >"$T/rendered/$e.yaml" 2>"$T/rendered/$e.err" \
            || fail "kubectl kustomize overlays/$e failed: $(cat "$T/rendered/$e.err")"
        [ -s "$T/rendered/$e.yaml" ] || fail "kubectl kustomize overlays/$e rendered nothing"
        ENVS+=("$e")
    done
    [ ${#ENVS[@]} -ge 3 ] || fail "expected the production, staging and integration overlays, found: ${ENVS[*]:-none}"
}

node_checker() {
    need_cmd node nodejs
    need_cmd npm nodejs
    local src=$top_srcdir/deploy/tests/schema dst=$top_builddir/deploy/tests/node stamp
    mkdir -p "$dst"
    stamp=$(cat "$src/package.json" "$src/package-lock.json" | sha256sum | cut -c1-64)
    (
        flock 9
        if [ "$(cat "$dst/.installed" 2>/dev/null)" != "$stamp" ] || [ ! -d "$dst/node_modules" ]; then
            rm -rf "$dst/node_modules" "$dst/.installed"
            cp -f "$src/package.json" "$src/package-lock.json" "$dst/"
            chmod u+w "$dst/package.json" "$dst/package-lock.json"
            if ! (cd "$dst" && npm ci --ignore-scripts --no-audit --no-fund --prefer-offline) \
                    >"$dst/npm.log" 2>&1; then
                tail -15 "$dst/npm.log" >&2
                exit 1
            fi
            echo "$stamp" >"$dst/.installed"
        fi
    ) 9>"$dst/.lock" || fail "npm ci of deploy/tests/schema failed (is the npm registry or npm's cache reachable?)"
    cp -f "$src/check.js" "$dst/check.js"
    chmod u+w "$dst/check.js"
    CHECK_JS=$dst/check.js
}
