"""Documents that leave the portal on paper: badges, letters and lists, rendered from Jinja
templates (``portal/templates/documents/``) to PDF by WeasyPrint, in the portal's languages,
with the fonts shipped in ``portal/documents/fonts`` so that every host renders the same PDF."""
