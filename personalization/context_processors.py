from .conf import conf


def personalization(request) -> dict:
    return {"personalization_demo_model": conf.DEMO_MODEL}
