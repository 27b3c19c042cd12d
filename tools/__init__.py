"""Laptop tools: code generation, the `make run` stack, the embedded PostgreSQL and the LiveKit
emulator. Not in the container image."""
