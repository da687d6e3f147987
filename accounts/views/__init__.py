"""accounts' pages, one module per subject."""
