#!/usr/bin/env python
"""Django's command-line utility for dashboards_live."""

import gc
import os
import sys


def main() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    if sys.argv[1:2] == ["sendevent"]:
        # A one-off push lives well under a second and leaves through os._exit:
        # collecting garbage while Django imports would only delay the event
        # (measured in bench/sendevent.py).
        gc.disable()
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured
    from django.core.management import execute_from_command_line

    try:
        settings.INSTALLED_APPS  # noqa: B018  (loads config.settings, which reads the environment)
        execute_from_command_line(sys.argv)
    except ImproperlyConfigured as exc:
        # a missing or malformed variable (config/env.py, dashboards_live/conf.py):
        # one line for the user that names it, not a traceback; exit 2 is bad usage
        sys.stderr.write(f"Error: {exc}\n")
        sys.exit(2)


if __name__ == "__main__":
    main()
