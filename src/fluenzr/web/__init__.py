"""Server-rendered UI (Jinja2 + htmx, no build step): Spanish by default, English, French."""
