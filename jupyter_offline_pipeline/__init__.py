"""Batch data integration for Jupyter: offline pipeline scripts."""

__version__ = "0.1.0"
