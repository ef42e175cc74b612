"""Replace an OpenAI fine-tune with a local job, and compare the two on held-out prompts."""
