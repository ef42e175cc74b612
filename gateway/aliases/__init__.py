"""Model aliases: a project's old model id answered by a model ftgate serves, at once or from a
scheduled time on (a cutover)."""
