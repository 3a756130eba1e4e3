"""Domain errors that name the field and the reason. Pure: no I/O."""

from __future__ import annotations

from dataclasses import dataclass

# Said after the reason a value was left out of an event that was still accepted.
ACCEPTED_WITHOUT = "; the event was accepted without it"


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one input field: `field` is a path such as `identifiers[1].value`."""

    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.field}: {self.reason}"


class InvalidInput(ValueError):
    """Input the caller must fix; every entry point shows its message as it is."""


class ActionRefused(InvalidInput):
    """A well-formed request the graph's state refuses (a steward's merge over the limits,
    an undo after later changes): the message says why and what would make it possible."""


class InvalidIdentifier(InvalidInput):
    """A raw identifier value that cannot be normalized for its kind."""


class ValidationError(InvalidInput):
    """Every problem found in one input, so a caller can fix them all in one go."""

    def __init__(self, errors: list[FieldError]) -> None:
        super().__init__("; ".join(str(e) for e in errors))
        self.errors = errors

    @classmethod
    def of(cls, field: str, reason: str) -> ValidationError:
        """One problem with one field."""
        return cls([FieldError(field, reason)])
