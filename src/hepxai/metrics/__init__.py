"""Metrics as pure functions: classification performance, explanation quality and tracking."""
