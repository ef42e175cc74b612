"""The client commands of `ftgate` (files, jobs, chat): any ftgate, or any OpenAI-compatible
service, over HTTP with a project's key."""
