#!/bin/bash
# deploy/tests/dockerfile-steps.sh - performs deploy/Dockerfile's steps on
# this machine (no container engine runs here) and checks the result.
#
# Everything it installs or runs is read FROM the Dockerfile, so the two
# cannot drift apart:
#   - the ARG BUILD_PACKAGES and ARG RUNTIME_PACKAGES lists: apt-get install
#     (as root) whichever are missing;
#   - the RUN step between "# steps: build begin/end": run verbatim with
#     bash in a fresh export of the sources (`git archive HEAD`) in a
#     temporary directory, with the Dockerfile's ARG values (DESTDIR pointed
#     into the temporary directory, JOBS=2);
# then checks the installed tree as the runtime stage would copy it:
#   - `envsync version` runs and `envsync plugins` lists every plugin in
#     DESTDIR/usr/lib/envsync;
#   - every library the binary and the plugins link directly (DT_NEEDED)
#     belongs to a package of RUNTIME_PACKAGES (or libc6/libgcc-s1 of the
#     base image), and every library ldd resolves belongs to a package in
#     the Depends closure of RUNTIME_PACKAGES: the slim image has them all;
#   - pg_dump from postgresql-client-15 runs.
#
# It builds the committed HEAD once more (about 2-4 minutes on 2 cores): it
# does not reuse the test's build tree, whose configure options differ from
# the image's.  Outside a git checkout (make distcheck) it is skipped.
# DOCKERFILE_STEPS_SOURCE=worktree builds the uncommitted work tree instead.
# Runs as a `make check` test (top_srcdir set) or directly:
#   top_srcdir=. top_builddir=. deploy/tests/dockerfile-steps.sh
set -euo pipefail
. "$top_srcdir/tests/lib.sh"
set -e

DOCKERFILE="$top_srcdir/deploy/Dockerfile"
[ -r "$DOCKERFILE" ] || fail "no $DOCKERFILE"
# the top of a git work tree itself (a dist tree unpacked inside a clone, as
# in make distcheck, is not: HEAD would not be what it was made from)
[ "$(git -C "$top_srcdir" rev-parse --show-toplevel 2>/dev/null)" = "$(cd "$top_srcdir" && pwd -P)" ] \
    && git -C "$top_srcdir" rev-parse --verify -q HEAD >/dev/null 2>&1 \
    || skip "$top_srcdir is not a git checkout (git archive HEAD needs one)"

es_tmpdir
trap 'exit 143' TERM; trap 'exit 130' INT    # so the EXIT trap removes $T

# --- read the Dockerfile ------------------------------------------------
# prints: NAME=VALUE lines for every ARG with a default (shell-quoted), and
# the marked build RUN command as BUILD_RUN.
python3 - "$DOCKERFILE" >"$T/dockerfile.env" <<'EOF'
import re, shlex, sys
text = open(sys.argv[1]).read()
lines, cur = [], ""
for raw in text.splitlines():
    if not cur and raw.lstrip().startswith("#"):
        lines.append(raw)          # comments (markers) stay separate
        continue
    if cur and raw.lstrip().startswith("#"):
        continue                   # a comment inside a continued instruction
    if raw.endswith("\\"):
        cur += raw[:-1] + " "
        continue
    lines.append(cur + raw)
    cur = ""
args, run, inside = {}, None, False
for l in lines:
    s = l.strip()
    if s == "# steps: build begin":
        inside = True
        continue
    if s == "# steps: build end":
        inside = False
        continue
    m = re.match(r"ARG\s+([A-Za-z_][A-Za-z0-9_]*)=(.*)$", s)
    if m:
        v = m.group(2).strip()
        if len(v) >= 2 and v[0] == v[-1] and v[0] in "\"'":
            v = v[1:-1]
        args[m.group(1)] = " ".join(v.split())
    elif inside and s.startswith("RUN "):
        if run is not None:
            sys.exit("more than one RUN between the build markers")
        run = s[4:].strip()
if run is None:
    sys.exit("no RUN between '# steps: build begin' and '# steps: build end'")
for k in ("BUILD_PACKAGES", "RUNTIME_PACKAGES", "DESTDIR", "JOBS"):
    if k not in args:
        sys.exit("no ARG %s=... in the Dockerfile" % k)
for k, v in sorted(args.items()):
    print("DF_%s=%s" % (k, shlex.quote(v)))
print("BUILD_RUN=%s" % shlex.quote(run))
EOF
. "$T/dockerfile.env"
read -r -a build_pkgs <<<"$DF_BUILD_PACKAGES"
read -r -a runtime_pkgs <<<"$DF_RUNTIME_PACKAGES"
note "build packages: ${build_pkgs[*]}"
note "runtime packages: ${runtime_pkgs[*]}"
note "build step: $BUILD_RUN"
[ "$DF_DESTDIR" = /out ] || fail "Dockerfile: DESTDIR is $DF_DESTDIR, the runtime stage copies from /out"
grep -q '^COPY --from=build /out/usr/bin/envsync /usr/bin/envsync$' "$DOCKERFILE" \
    || fail "Dockerfile: the runtime stage does not copy /out/usr/bin/envsync"
grep -q '^COPY --from=build /out/usr/lib/envsync/ /usr/lib/envsync/$' "$DOCKERFILE" \
    || fail "Dockerfile: the runtime stage does not copy /out/usr/lib/envsync/"
grep -q '^USER 10001' "$DOCKERFILE" || fail "Dockerfile: not USER 10001"

# --- apt-get install, as the two stages do -----------------------------
missing=()
for p in "${build_pkgs[@]}" "${runtime_pkgs[@]}"; do
    case $(dpkg-query -W -f='${db:Status-Abbrev}' "$p" 2>/dev/null || true) in
        ii*) ;;
        *) missing+=("$p") ;;
    esac
done
if [ ${#missing[@]} -gt 0 ]; then
    [ "$(id -u)" = 0 ] || fail "packages of the Dockerfile missing and not root: ${missing[*]}"
    note "apt-get install ${missing[*]}"
    DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600 update >"$T/apt.log" 2>&1 \
        && DEBIAN_FRONTEND=noninteractive apt-get -q -o DPkg::Lock::Timeout=600 install -y \
            --no-install-recommends "${missing[@]}" >>"$T/apt.log" 2>&1 \
        || { tail -20 "$T/apt.log" >&2; fail "apt-get install of the Dockerfile's packages failed"; }
fi

# --- the build stage's RUN, on a fresh export of HEAD -------------------
mkdir "$T/src" "$T/out"
if [ "${DOCKERFILE_STEPS_SOURCE:-head}" = worktree ]; then
    # while developing: the work tree's tracked and untracked, not ignored files
    (cd "$top_srcdir" && git ls-files -z --cached --others --exclude-standard \
        | tar --null --ignore-failed-read -T - -cf -) | tar -xf - -C "$T/src"
    what="the work tree"
else
    git -C "$top_srcdir" archive --format=tar HEAD | tar -xf - -C "$T/src"
    what=$(git -C "$top_srcdir" rev-parse --short HEAD)
fi
note "building $what in $T/src (log: $T/build.log)"
if ! (cd "$T/src" && env DESTDIR="$T/out" JOBS="$DF_JOBS" bash -euc "$BUILD_RUN") >"$T/build.log" 2>&1; then
    tail -30 "$T/build.log" >&2
    fail "the Dockerfile's build step failed"
fi
DEST=$T/out
BIN=$DEST/usr/bin/envsync
PLUGDIR=$DEST/usr/lib/envsync
[ -x "$BIN" ] || fail "no $BIN after make install"
mapfile -t plugins < <(cd "$PLUGDIR" && ls -1 ./*.so 2>/dev/null | sed 's|^\./||')
[ ${#plugins[@]} -gt 0 ] || fail "no plugins in $PLUGDIR"
note "installed: usr/bin/envsync, ${#plugins[@]} plugins: ${plugins[*]}"
for so in "$PLUGDIR"/*; do
    case $so in *.so) ;; *) fail "unexpected file in the plugin dir: $so" ;; esac
done

# --- the binary runs from the installed tree ----------------------------
out=$(env -u ENVSYNC_PLUGIN_PATH "$BIN" version 2>&1) || fail "envsync version: $out"
note "envsync version: $(printf '%s' "$out" | head -1)"
out=$(ENVSYNC_PLUGIN_PATH=$PLUGDIR "$BIN" plugins 2>&1) || fail "envsync plugins: $out"
for so in "${plugins[@]}"; do
    name=${so%.so}
    printf '%s\n' "$out" | grep -Eq "(^|[[:space:]])$name([[:space:]]|$)" \
        || fail "envsync plugins does not list $name from $PLUGDIR:
$out"
    printf '%s\n' "$out" | grep -F "$name" | grep -Fq "$T/src" \
        && fail "plugin $name loaded from the build tree, not $PLUGDIR"
done
# the compiled-in plugin directory is where the runtime stage puts them
grep -aq '/usr/lib/envsync' "$BIN" || fail "the binary's compiled-in plugin dir is not /usr/lib/envsync"
# the Dockerfile's CMD
"$BIN" --help >/dev/null 2>&1 || fail "envsync --help (the image's CMD) failed"

# --- every library from the runtime packages ----------------------------
# Depends/Pre-Depends closure of the runtime list (what apt pulls into the
# slim image), without virtual package markers.
apt-cache depends --recurse --no-recommends --no-suggests --no-conflicts --no-breaks \
    --no-replaces --no-enhances "${runtime_pkgs[@]}" 2>/dev/null \
    | sed -n 's/^\([a-z0-9][^ :]*\)\(:[a-z0-9]*\)\{0,1\}$/\1/p' | sort -u >"$T/closure"
[ -s "$T/closure" ] || fail "apt-cache depends gave no closure for the runtime packages"
printf '%s\n' "${runtime_pkgs[@]}" libc6 libgcc-s1 | sort -u >"$T/direct-ok"

declare -A OWNER=()
owner() {  # path -> $pkg, the owning package, empty if none (cached: dpkg -S is slow)
    local p=$1 r c o=
    if [ -n "${OWNER[$p]+x}" ]; then pkg=${OWNER[$p]}; return; fi
    r=$(readlink -f "$p")
    for c in "$p" "$r" "${p#/usr}" "/usr$p" "${r#/usr}" "/usr$r"; do
        o=$(dpkg -S "$c" 2>/dev/null | head -1 | sed 's/:.*//; s/,.*//') || true
        [ -n "$o" ] && break
    done
    OWNER[$p]=$o
    pkg=$o
}

checked=0
for f in "$BIN" "$PLUGDIR"/*.so; do
    lddout=$(ldd "$f" 2>&1) || fail "ldd $f: $lddout"
    if printf '%s\n' "$lddout" | grep -q 'not found'; then
        fail "$(basename "$f"): unresolved libraries:
$lddout"
    fi
    # direct dependencies: from the runtime list itself
    while read -r lib; do
        path=$(printf '%s\n' "$lddout" | awk -v l="$lib" '$1 == l && $3 ~ /^\// { print $3; exit }')
        [ -n "$path" ] || fail "$(basename "$f"): NEEDED $lib not resolved by ldd"
        owner "$path"
        [ -n "$pkg" ] || fail "$(basename "$f"): $path belongs to no package"
        grep -qx "$pkg" "$T/direct-ok" \
            || fail "$(basename "$f") links $lib ($path) of package $pkg, which is not in RUNTIME_PACKAGES"
        checked=$((checked + 1))
    done < <(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
    # everything ldd resolves: in the closure apt installs
    while read -r path; do
        owner "$path"
        [ -n "$pkg" ] || fail "$(basename "$f"): $path belongs to no package"
        grep -qx "$pkg" "$T/closure" \
            || fail "$(basename "$f"): $path of package $pkg is not pulled in by RUNTIME_PACKAGES"
    done < <(printf '%s\n' "$lddout" | awk '$3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u)
done
note "$checked direct library dependencies of ${#plugins[@]} plugins and the binary come from the runtime packages"

# --- the client tool the postgres plugin runs ---------------------------
grep -qx postgresql-client-15 <(printf '%s\n' "${runtime_pkgs[@]}") \
    || fail "RUNTIME_PACKAGES lacks postgresql-client-15 (pg_dump)"
/usr/lib/postgresql/15/bin/pg_dump --version >/dev/null 2>&1 || fail "pg_dump of postgresql-client-15 does not run"
pass
