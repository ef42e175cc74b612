"""The browser dashboard: static pages that call the public /v1 API with the signed-in key."""
