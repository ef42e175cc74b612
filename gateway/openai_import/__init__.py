"""Import an OpenAI organisation's fine-tuning history into a project, as read-only history."""
