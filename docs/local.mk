# docs: installed with the package documentation.
dist_doc_DATA += docs/architecture.md docs/plugin-guide.md docs/benchmarks.md
EXTRA_DIST += docs/benchmarks-postgres.md
