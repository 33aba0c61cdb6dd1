from .conf import conf


def personalization(request) -> dict:
    return {
        "personalization_demo_model": conf.DEMO_MODEL,
        # The admin shows a red banner while the output safety check is turned off.
        "personalization_safety_off": not conf.SAFETY_CHECK,
    }
