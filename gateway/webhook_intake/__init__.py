"""Webhooks from upstreams: signed notices that one of their jobs changed, to look at it now."""
