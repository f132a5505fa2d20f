#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "reten.settings")
    from reten.env import exit_on_configuration_error

    exit_on_configuration_error()  # a bad setting: one line on stderr and exit status 2, not a traceback
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
