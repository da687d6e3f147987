"""accounts' plumbing: what every app stands on and no business rule is about (kept
page content, the outbox, mail, the audit trail, two-factor sign-in, middleware,
sessions, API authentication and tokens, webhook delivery, the template context).

It may import the domain's models, choices and policy, never the web layer of
accounts (pyproject.toml's import-linter contract)."""
