#!/usr/bin/env python
import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "campaign.settings")
    # No SECRET_KEY means a developer's machine: commands run with DEBUG on, so the development
    # key is accepted. A server sets SECRET_KEY (and DEBUG=0); its web and worker processes do not
    # start through this file, and they refuse the development key (campaign/settings.py).
    if not os.environ.get("SECRET_KEY"):
        os.environ.setdefault("DEBUG", "1")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)


if __name__ == "__main__":
    main()
