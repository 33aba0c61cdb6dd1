"""The bundled shop's checkout form, as tests post it."""

import uuid


def checkout_data(**overrides) -> dict:
    """A valid checkout form with a fresh one-time token; ``overrides`` replace fields."""
    data = {
        "full_name": "Ada Lovelace",
        "email": "ada@example.com",
        "address_line1": "12 St James's Square",
        "address_line2": "",
        "city": "London",
        "postcode": "SW1Y 4JH",
        "country": "gb",
        "checkout_token": str(uuid.uuid4()),
    }
    data.update(overrides)
    return data
