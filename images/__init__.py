"""The image catalog: which environments workspaces may launch from."""
