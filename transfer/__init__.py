"""Data in and out of an account: contact imports (vCard, LinkedIn) and the export archive."""
