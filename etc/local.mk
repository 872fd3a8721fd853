# etc/: example configurations and rules, installed as documentation examples.
dist_examples_DATA = etc/production.conf etc/staging.conf etc/integration.conf etc/local.conf \
	etc/sanitise/whitehall.rules
EXTRA_DIST += scripts/demo.sh scripts/demo/shop.sql scripts/demo/shop.rules
