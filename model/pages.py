"""Page sizes: how many items a list gives when the client does not say, and what it may ask.

The resolvers (``schema.pagination``) and the compiled read path (``reads/``) apply the same
rule, so both refuse the same page sizes.
"""

from __future__ import annotations

DEFAULT_PAGE = 20


def check_page_size(size: int, maximum: int) -> str | None:
    """Return what is wrong with a page size (``first`` or ``last``), or None."""
    if size < 0 or size > maximum:
        return f"ask for between 0 and {maximum} items per page, not {size}"
    return None
