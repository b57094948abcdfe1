"""Use cases: one function per thing a caller can do; no HTTP, no Lambda event shapes."""
