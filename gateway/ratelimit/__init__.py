"""Per-key rate limits: token buckets of requests and chat tokens per minute, counted in this
process or in Redis (shared by gateway replicas), told to clients in OpenAI's headers."""
