"""Errors meant for the user: the CLI prints them as one line and exits with code 2."""


class SeqlabError(Exception):
    """Bad input from the user (a file, an option, a config key): the message says what and where."""


class ConfigError(SeqlabError):
    """A config file or override that does not fit the typed config."""
