"""The QR posters the office prints: one per village (the QR opens the public booking page with the village
chosen) and one for the campaign (the page's general entry)."""
