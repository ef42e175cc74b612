"""Upstream providers: OpenAI-compatible services that train and serve jobs for ftgate."""
