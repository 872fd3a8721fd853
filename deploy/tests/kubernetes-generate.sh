#!/bin/bash
# deploy/tests/kubernetes-generate.sh - the committed overlays are exactly
# what deploy/kubernetes/generate.py writes from the settings files (so a
# hand edit, or a settings change without regenerating, fails here), and the
# generator refuses settings that do not match the environment's config.
. "$top_srcdir/tests/lib.sh"
set -e
python3 -c 'import yaml' 2>/dev/null || fail "python3-yaml missing: apt-get install python3-yaml"
GEN=$top_srcdir/deploy/kubernetes/generate.py

out=$(python3 "$GEN" --check 2>&1) \
    || fail "generated files differ from settings.yaml: run deploy/kubernetes/generate.py and commit:
$out"
note "every overlay is what generate.py writes"

# The generator's checks, on a scratch copy of deploy/kubernetes + etc.
es_tmpdir
mkdir -p "$T/deploy" "$T/etc"
cp -r "$top_srcdir/deploy/kubernetes" "$T/deploy/"
cp -r "$top_srcdir/etc/." "$T/etc/"
chmod -R u+w "$T"
G=$T/deploy/kubernetes/generate.py
S=$T/deploy/kubernetes/overlays/staging/settings.yaml
python3 "$G" --check >/dev/null || fail "the scratch copy differs already"

cp "$S" "$T/settings.orig"
# a job of the config without settings
python3 - "$S" <<'PY'
import sys, yaml
p = sys.argv[1]; s = yaml.safe_load(open(p)); del s["jobs"]["whitehall-mysql"]
yaml.safe_dump(s, open(p, "w"), sort_keys=False)
PY
set +e; out=$(python3 "$G" staging 2>&1); rc=$?; set -e
[ "$rc" = 2 ] && printf '%s' "$out" | grep -q "job whitehall-mysql of .* has no entry" \
    || fail "a config job missing from settings was not refused (rc $rc): $out"
# a settings job the config does not have
cp "$T/settings.orig" "$S"
python3 - "$S" <<'PY'
import sys, yaml
p = sys.argv[1]; s = yaml.safe_load(open(p)); s["jobs"]["no-such-job"] = {}
yaml.safe_dump(s, open(p, "w"), sort_keys=False)
PY
set +e; out=$(python3 "$G" staging 2>&1); rc=$?; set -e
[ "$rc" = 2 ] && printf '%s' "$out" | grep -q "job no-such-job is not in" \
    || fail "an unknown job in settings was not refused (rc $rc): $out"
# a schedule change is written to that job's patch only, and --check sees it
cp "$T/settings.orig" "$S"
python3 - "$S" <<'PY'
import sys, yaml
p = sys.argv[1]; s = yaml.safe_load(open(p)); s["jobs"]["whitehall-mysql"]["schedule"] = "45 3 * * *"
s["jobs"]["whitehall-mysql"]["suspend"] = True
yaml.safe_dump(s, open(p, "w"), sort_keys=False)
PY
set +e; out=$(python3 "$G" --check 2>&1); rc=$?; set -e
[ "$rc" = 1 ] && [ "$(printf '%s\n' "$out" | grep -c '^differs:')" = 1 ] \
    && printf '%s' "$out" | grep -q "staging/jobs/whitehall-mysql/patch.yaml" \
    || fail "--check after a schedule change: rc $rc, $out"
python3 "$G" staging >/dev/null
grep -A1 'path: /spec/schedule' "$T/deploy/kubernetes/overlays/staging/jobs/whitehall-mysql/patch.yaml" \
    | grep -q "45 3" || fail "new schedule not written"
grep -A1 'path: /spec/suspend' "$T/deploy/kubernetes/overlays/staging/jobs/whitehall-mysql/patch.yaml" \
    | grep -q "true" || fail "suspend not written"
python3 "$G" --check >/dev/null || fail "not stable after regenerating"
pass
