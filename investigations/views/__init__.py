"""HTML views of the dashboard, one module per page (overview, alert queue, cases, case page)."""
