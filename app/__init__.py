"""citeqa: answers questions over a document collection, every claim cited to an exact span."""

__version__ = "0.1.0"
