"""Currency helpers: display formatting and Stripe's minimum charge amounts."""

ZERO_DECIMAL = frozenset(
    [
        "bif",
        "clp",
        "djf",
        "gnf",
        "jpy",
        "kmf",
        "krw",
        "mga",
        "pyg",
        "rwf",
        "ugx",
        "vnd",
        "vuv",
        "xaf",
        "xof",
        "xpf",
    ]
)
_SYMBOLS = {"gbp": "£", "eur": "€", "usd": "$", "jpy": "¥", "aud": "A$", "cad": "CA$"}
# Minimum amounts for the currencies booking is likely to use (minor units).
MINIMUM_CHARGE = {"gbp": 30, "eur": 50, "usd": 50, "aud": 50, "cad": 50, "chf": 50, "jpy": 50}


def format_amount(amount: int, currency: str) -> str:
    """``format_amount(1000, "gbp") == "£10.00"``."""
    cur = currency.lower()
    if cur in ZERO_DECIMAL:
        number = f"{amount:,}"
    else:
        sign = "-" if amount < 0 else ""
        number = f"{sign}{abs(amount) // 100:,}.{abs(amount) % 100:02d}"
    symbol = _SYMBOLS.get(cur)
    if symbol:
        if number.startswith("-"):
            return f"-{symbol}{number[1:]}"
        return f"{symbol}{number}"
    return f"{number} {cur.upper()}"
