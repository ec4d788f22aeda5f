"""Telling people things outside the app: e-mail through the SMTP server in MARAC_SMTP_URL."""
