"""airwarn: localized early warning for air threats."""

__version__ = "0.1.0"
