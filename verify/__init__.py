"""Actly's verifier: proves the runtime's ARM64 machine code before its image is made."""

__version__ = "0.1.0"
