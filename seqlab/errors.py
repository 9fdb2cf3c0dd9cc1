"""Errors meant for the user: the CLI prints them as one line and exits with code 2."""


class SeqlabError(Exception):
    """Bad input from the user (a file, an option, a config key): the message says what and where."""


class ConfigError(SeqlabError):
    """A config file or override that does not fit the typed config."""


def describe_error(err: BaseException) -> tuple[str, int]:
    """An error as one line for the user, and the exit code: 2 for bad input (ours, or a file or directory the
    system cannot read or write, or a size that does not fit in memory), 1 for anything else (a fault of seqlab's)."""
    if isinstance(err, SeqlabError):
        return str(err), 2
    if isinstance(err, OSError) and err.strerror:
        where = f"{err.filename}: " if err.filename else ""
        return f"{where}{err.strerror}", 2
    text = " ".join(str(err).split())
    if isinstance(err, MemoryError) or (isinstance(err, RuntimeError) and "can't allocate memory" in text):
        detail = text[text.index("you tried"):] if "you tried" in text else "MemoryError"
        return f"not enough memory for what the config asks ({detail}); make the model or the batch smaller", 2
    return f"{type(err).__name__}: {text[:500]}", 1
