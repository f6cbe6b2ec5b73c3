"""REST resources, one module each, mounted under /api/v1 by the app factory."""
