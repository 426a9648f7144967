"""Bot layer: the shell platform, which runs the real handlers in a terminal."""
