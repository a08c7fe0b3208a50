"""Use cases: each public function is one transaction with a permission check,
an optimistic-lock version check and exactly one audit event."""
