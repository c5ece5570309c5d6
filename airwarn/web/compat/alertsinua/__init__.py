"""alerts.in.ua's REST API: `places` (its locations and their numbers, and which of them a
zone lies in), `shapes` (its alert records and status letters; pure functions) and `routes`
(the paths `api.alerts.in.ua` serves)."""
