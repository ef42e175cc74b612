"""Providers: what trains and serves jobs for ftgate, the local trainer and the upstreams
(OpenAI-compatible services)."""
