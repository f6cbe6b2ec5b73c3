"""HTTP plumbing shared by the API and the web UI: context, principal and CSRF dependencies,
the request language and the error → HTTP response mapping."""
