"""Business rules as plain functions: no Starlette, Stripe, Jinja2 or SMTP in here."""
