"""hub: a self-hosted real-time notification and analytics hub."""

__version__ = "0.1.0"
