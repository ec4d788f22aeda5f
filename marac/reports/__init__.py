"""Quarterly figures of a conference (docs/domain.md#quarterly-figures): counted, suppressed for export, rendered."""
