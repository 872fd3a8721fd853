#!/bin/bash
# deploy/tests/kubernetes-schema.sh - every object of every rendered
# overlay validates against the Kubernetes OpenAPI schema (kubernetes-models,
# installed by `npm ci` from deploy/tests/schema/package-lock.json; fails,
# never skips, when npm cannot install it): its compiled validators check
# types, enums, formats and required fields, and check.js walks the objects
# along the type declarations generated from the same schema to reject
# unknown (e.g. misspelt) fields, as `kubectl apply --validate=strict` would.
# A self-test first makes sure broken objects are rejected.
. "$top_srcdir/tests/lib.sh"
. "$top_srcdir/deploy/tests/deploy-lib.sh"
set -e
es_tmpdir
render_overlays
node_checker
out=$(node "$CHECK_JS" k8s-self-test 2>&1) || fail "the schema validator's self-test:
$out"
note "$out"
for e in "${ENVS[@]}"; do
    out=$(node "$CHECK_JS" k8s "$T/rendered/$e.yaml" 2>&1) || fail "overlays/$e:
$out"
    note "$e: $out"
done
pass
