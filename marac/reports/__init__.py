"""Quarterly figures of a conference (issue 8): counted, suppressed for export, rendered."""
