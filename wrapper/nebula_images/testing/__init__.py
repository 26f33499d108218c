"""The local mock of the API, for tests and CI (install the ``mock`` extra)."""
