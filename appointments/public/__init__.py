"""The residents' own booking pages (H5, reached by a village's QR code): identity by SMS code, the family."""
