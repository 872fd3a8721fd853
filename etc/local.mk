# etc/: example configurations and rules, installed as documentation examples.
dist_examples_DATA = etc/production.conf etc/staging.conf etc/integration.conf etc/local.conf \
	etc/sanitise/whitehall.rules
