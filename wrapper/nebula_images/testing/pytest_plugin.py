"""pytest plugin: the ``nebula_mock`` fixture (filled in by the mock server work)."""
