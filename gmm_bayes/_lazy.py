"""Attributes of a package resolved on first use (PEP 562), so heavy imports wait until needed."""

from importlib import import_module


def lazy_attributes(package, table):
    """``(__getattr__, __dir__)`` for ``package`` whose names in ``table`` load lazily.

    Parameters
    ----------
    package : dict
        The package's ``globals()``; a loaded name is stored there, so it loads once.
    table : dict of str to str
        Public name -> module that defines it.
    """

    def __getattr__(name):
        if name in table:
            value = getattr(import_module(table[name]), name)
            package[name] = value
            return value
        raise AttributeError(f"module {package['__name__']!r} has no attribute {name!r}")

    def __dir__():
        extra = {"__version__"} & package.keys()
        return sorted(set(package.get("__all__", ())) | set(table) | extra)

    return __getattr__, __dir__
