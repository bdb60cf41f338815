"""Metrics as pure functions: classification performance and explanation quality."""
