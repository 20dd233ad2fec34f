"""claude-tap: see exactly what an AI coding agent sends to its model and what comes back."""

__version__ = "0.2.0"
