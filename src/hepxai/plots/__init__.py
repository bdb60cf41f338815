"""Plots and the HTML report; functions take results and return figures."""
