"""Workspaces: a user's notebook servers, their sizes and lifecycle."""
