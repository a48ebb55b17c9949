"""The bundled resources (prompts, icons, demo data), installed as the package ``spec_review_resources``."""
