"""Migrations declared for the tests (``ONE_MIGRATIONS=tests.data.sample_migrations``): the CLI and the
local stack find them as they find the platform's own."""
