"""The incidents API operations in the authorization matrix (merged by matrix_routes)."""

from __future__ import annotations

from phiwarden.core.tests.matrix import ApiRoute

API_ROUTES: dict[str, ApiRoute] = {}
