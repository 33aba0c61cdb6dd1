"""The test settings without the host's keys (PRODUCT_MODEL, ORDER_LINE_MODEL, HOST_ADAPTER): what
a new host sees before configuring the plugin. ``manage.py check --settings tests.settings_no_host``
must load the models and report personalization.E001-E003 (tests/personalization/test_host_adapter.py).
"""

from config.settings_test import *  # noqa: F403

HOST_KEYS = ("PRODUCT_MODEL", "ORDER_LINE_MODEL", "HOST_ADAPTER")
PERSONALIZATION = {k: v for k, v in PERSONALIZATION.items() if k not in HOST_KEYS}  # noqa: F405
