"""Thin adapters around external systems. They import no app of ours."""
