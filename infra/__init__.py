"""Infrastructure: the template generator, the local stack, the CLI."""

from pathlib import Path

#: The repository's root folder.
ROOT = Path(__file__).resolve().parent.parent
