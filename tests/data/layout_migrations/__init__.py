"""A migration whose readers must accept the old layout (``ONE_MIGRATIONS=tests.data.layout_migrations``)."""
