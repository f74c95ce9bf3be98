"""The package's own exception types.

Every error a user can cause (a bad file, a bad character, an unknown label, a wrong shape) is raised as one of
these, with a message that names the file, the line and a remedy. The CLI prints ``str(error)`` and exits with a
non-zero status, without a traceback.
"""

from __future__ import annotations

from os import PathLike


class RnalabelError(Exception):
    """Base class of every error a user of rnalabel can cause.

    Parameters
    ----------
    message : str
        What went wrong, in one sentence.
    path : str or PathLike, optional
        The file the problem is in. Default is None.
    line : int, optional
        1-based line number in ``path``. Default is None.
    remedy : str, optional
        What the user can do about it. Default is None.
    """

    exit_code = 2

    def __init__(
        self,
        message: str,
        *,
        path: str | PathLike | None = None,
        line: int | None = None,
        remedy: str | None = None,
    ) -> None:
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        self.remedy = remedy
        super().__init__(str(self))

    def __str__(self) -> str:
        where = ""
        if self.path is not None:
            where = self.path + (f":{self.line}" if self.line is not None else "") + ": "
        text = where + self.message
        if self.remedy:
            text += f" Remedy: {self.remedy}"
        return text

    def __reduce__(self):  # keep picklable across worker processes
        return (_rebuild, (type(self), self.message, self.path, self.line, self.remedy))


def _rebuild(cls, message, path, line, remedy):
    return cls(message, path=path, line=line, remedy=remedy)


class InputError(RnalabelError):
    """A malformed input file (FASTA, table, BED, recipe)."""


class SequenceError(InputError):
    """A sequence with characters outside IUPAC, empty, or otherwise unusable."""


class LabelError(InputError):
    """A label table that does not match its sequences, or a value other than 0, 1 or empty."""


class ModelFileError(RnalabelError):
    """A model directory with a missing, corrupt or unsafe file."""


class ConfigError(RnalabelError):
    """An unknown recipe, model, view or hyper-parameter."""


def a_or_an(word: str) -> str:
    """``word`` with its indefinite article, for messages ("an embedding", "a windowed")."""
    return f"{'an' if str(word)[:1].lower() in 'aeiou' else 'a'} {word}"


def count_of(n: int, word: str) -> str:
    """``n`` with ``word`` in the singular or plural, for messages ("1 miRNA", "2 labels")."""
    return f"{n} {word}{'' if n == 1 else 's'}"
