"""Identity graph service: real-time identity resolution into golden profiles."""

__version__ = "0.1.0"
