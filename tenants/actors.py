"""Who did something: a user, an API key (acting for its creator), or the system itself."""
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Actor:
    user: Any = None
    api_key: Any = None

    @property
    def kind(self):
        if self.api_key is not None:
            return "API_KEY"
        return "USER" if self.user is not None else "SYSTEM"

    def __str__(self):
        if self.api_key is not None:
            return f"api key {self.api_key.key_prefix}"
        return str(self.user) if self.user is not None else "system"


SYSTEM = Actor()
