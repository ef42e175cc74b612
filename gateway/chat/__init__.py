"""/v1/chat/completions: parameters, model resolution, forwarding to upstreams, streaming and billing.

Local generation itself is `gateway.inference`."""
