"""Explainers (LRP, gradients, masks) and their common result, the Explanation."""
