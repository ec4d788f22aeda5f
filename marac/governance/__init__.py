"""Information governance: retention (anonymising cases past their conference's period) and subject access."""
