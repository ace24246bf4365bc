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
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
