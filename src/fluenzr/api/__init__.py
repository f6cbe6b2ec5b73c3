"""REST API (``/api/v1``): one router per resource; ``fluenzr.server`` mounts them."""
