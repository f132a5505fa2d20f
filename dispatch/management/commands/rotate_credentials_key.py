"""`manage.py rotate_credentials_key`: re-encrypt every dispatch config, and every secret another app keeps with
the same key ring (dispatch.hooks: webhook endpoint secrets), with the first key of the ring."""
from django.core.management.base import BaseCommand, CommandError

from dispatch import crypto, hooks
from dispatch.services import credentials_rotate


class Command(BaseCommand):
    help = "Re-encrypt every dispatch config's credentials with the current (first) RETEN_CREDENTIALS_KEYS key."

    def handle(self, *args, **options):
        try:
            current = crypto.key_ring().current_id
            total, moved = credentials_rotate()
            others = hooks.run_secret_rotations()
        except (crypto.CredentialsKeyError, crypto.CredentialsDecryptError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"Re-encrypted {total} dispatch config(s) with key {current!r} "
                          f"({moved} were on an older key).")
        for what, total, moved in others:
            if total:
                self.stdout.write(f"Re-encrypted {total} {what} with key {current!r} ({moved} were on an older key).")
