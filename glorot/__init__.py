"""glorot: an executable edition of Glorot & Bengio (2010)."""

__version__ = "0.1.0"
