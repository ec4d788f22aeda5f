"""marac: coordination platform for Multi-Agency Risk Assessment Conferences."""
