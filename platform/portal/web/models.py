"""No models. The module exists so that `migrate` sends post_migrate for this app (apps.py creates the
cache table then)."""
