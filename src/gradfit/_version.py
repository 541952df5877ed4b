"""The version of gradfit, apart so that modules can report it without importing the package."""

__version__ = "0.1.0"
