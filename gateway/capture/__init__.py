"""Capture: a project's chats with an upstream-served model, recorded as training examples."""
