"""Evidence functions, one module per area of the checklist; importing registers them."""

from phiwarden.compliance.evidence import access  # noqa: F401
