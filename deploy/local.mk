# deploy/: container image, Kubernetes manifests (Kustomize), alert rules,
# and the tests that render and validate them (see deploy/README.md).
dist_doc_DATA += docs/operations.md

DEPLOY_K8S_FILES = \
	deploy/kubernetes/generate.py \
	deploy/kubernetes/base/cronjob/kustomization.yaml \
	deploy/kubernetes/base/cronjob/cronjob.yaml \
	deploy/kubernetes/base/serviceaccount/kustomization.yaml \
	deploy/kubernetes/base/serviceaccount/serviceaccount.yaml \
	deploy/kubernetes/overlays/production/settings.yaml \
	deploy/kubernetes/overlays/production/kustomization.yaml \
	deploy/kubernetes/overlays/production/serviceaccount-patch.yaml \
	deploy/kubernetes/overlays/production/envsync.conf \
	deploy/kubernetes/overlays/production/jobs/whitehall-mysql/kustomization.yaml \
	deploy/kubernetes/overlays/production/jobs/whitehall-mysql/patch.yaml \
	deploy/kubernetes/overlays/production/jobs/publishing-api-postgres/kustomization.yaml \
	deploy/kubernetes/overlays/production/jobs/publishing-api-postgres/patch.yaml \
	deploy/kubernetes/overlays/production/jobs/search-opensearch/kustomization.yaml \
	deploy/kubernetes/overlays/production/jobs/search-opensearch/patch.yaml \
	deploy/kubernetes/overlays/staging/settings.yaml \
	deploy/kubernetes/overlays/staging/kustomization.yaml \
	deploy/kubernetes/overlays/staging/serviceaccount-patch.yaml \
	deploy/kubernetes/overlays/staging/envsync.conf \
	deploy/kubernetes/overlays/staging/sanitise/whitehall.rules \
	deploy/kubernetes/overlays/staging/jobs/whitehall-mysql/kustomization.yaml \
	deploy/kubernetes/overlays/staging/jobs/whitehall-mysql/patch.yaml \
	deploy/kubernetes/overlays/staging/jobs/publishing-api-postgres/kustomization.yaml \
	deploy/kubernetes/overlays/staging/jobs/publishing-api-postgres/patch.yaml \
	deploy/kubernetes/overlays/staging/jobs/search-opensearch/kustomization.yaml \
	deploy/kubernetes/overlays/staging/jobs/search-opensearch/patch.yaml \
	deploy/kubernetes/overlays/integration/settings.yaml \
	deploy/kubernetes/overlays/integration/kustomization.yaml \
	deploy/kubernetes/overlays/integration/serviceaccount-patch.yaml \
	deploy/kubernetes/overlays/integration/envsync.conf \
	deploy/kubernetes/overlays/integration/files/publishing-api.rules \
	deploy/kubernetes/overlays/integration/files/publishing-api-integration.sql \
	deploy/kubernetes/overlays/integration/sanitise/publishing-api.rules \
	deploy/kubernetes/overlays/integration/sanitise/publishing-api-integration.sql \
	deploy/kubernetes/overlays/integration/jobs/whitehall-mysql/kustomization.yaml \
	deploy/kubernetes/overlays/integration/jobs/whitehall-mysql/patch.yaml \
	deploy/kubernetes/overlays/integration/jobs/publishing-api-postgres/kustomization.yaml \
	deploy/kubernetes/overlays/integration/jobs/publishing-api-postgres/patch.yaml

EXTRA_DIST += \
	deploy/README.md \
	deploy/Dockerfile \
	deploy/Dockerfile.dockerignore \
	deploy/prometheus/envsync-alerts.yml \
	$(DEPLOY_K8S_FILES) \
	deploy/tests/deploy-lib.sh \
	deploy/tests/check-manifests.py \
	deploy/tests/yamllint.yml \
	deploy/tests/schema/package.json \
	deploy/tests/schema/package-lock.json \
	deploy/tests/schema/check.js

# dockerfile-steps.sh builds the committed HEAD once more (2-4 min) and
# skips outside a git checkout (make distcheck).
DEPLOY_TESTS = \
	deploy/tests/kubernetes-generate.sh \
	deploy/tests/kubernetes-render.sh \
	deploy/tests/kubernetes-schema.sh \
	deploy/tests/kubernetes-config.sh \
	deploy/tests/prometheus-rules.sh \
	deploy/tests/dockerfile-steps.sh
TESTS += $(DEPLOY_TESTS)
dist_check_SCRIPTS += $(DEPLOY_TESTS)

# `make deploy-check`: only these tests
deploy-check:
	$(MAKE) $(AM_MAKEFLAGS) check TESTS='$(DEPLOY_TESTS)'
.PHONY: deploy-check

clean-local: clean-local-deploy
clean-local-deploy:
	-rm -rf deploy/tests/node deploy/tests/kubectl-1.20
.PHONY: clean-local-deploy
