"""The match model's life on disk: read one, load the one in force (the saved one, else the
built-in one), save one. `config.py` loads the model the service runs with; `identity train`
and `identity resolve` read and save through here too, so the format has one reader and one
writer."""

from __future__ import annotations

import json
from pathlib import Path

from identity.domain.matching.defaults import DEFAULT_MODEL
from identity.domain.matching.model import MatchModel

__all__ = ["ModelFileError", "load_model", "read_model", "save_model"]


class ModelFileError(ValueError):
    """A model file that cannot be read, or is not a match model; says which and why."""


def read_model(path: Path | None) -> MatchModel:
    """A model saved by `save_model`, or the built-in one when `path` is None."""
    if path is None:
        return DEFAULT_MODEL
    try:
        return MatchModel.from_json(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ModelFileError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ModelFileError(f"{path}: cannot read the model: {exc}") from None
    except json.JSONDecodeError as exc:
        raise ModelFileError(f"{path}: not a match model: not JSON ({exc})") from None
    except ValueError as exc:  # from_dict's "not a match model: ...", or a bad level
        message = str(exc)
        prefix = "" if message.startswith("not a match model") else "not a match model: "
        raise ModelFileError(f"{path}: {prefix}{message}") from None


def load_model(path: Path) -> MatchModel:
    """The model saved at `path`, or the built-in one while none is. Raises ModelFileError
    naming the file when it is not a model."""
    return read_model(path) if path.exists() else DEFAULT_MODEL


def save_model(model: MatchModel, path: Path) -> None:
    """Compacted, one JSON document; the folder is made when missing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(model.compacted().to_json() + "\n", encoding="utf-8")
