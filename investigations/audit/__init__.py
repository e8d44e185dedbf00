"""The audit log page: browse, filter, export as CSV."""
