"""hepxai: graph neural networks for particle physics, and the tools to see why they decide."""

__version__ = "0.1.0"
