"""Local fakes of the chat platforms' APIs, served on ephemeral loopback ports."""
