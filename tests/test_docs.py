"""Every public name of the package is documented: a docstring that says where the book explains it."""

import importlib
import inspect
import pkgutil

import pytest

import rnnlab


PENDING = ()


def public_objects():
    for info in pkgutil.walk_packages(rnnlab.__path__, "rnnlab."):
        if info.name.split(".")[-1].startswith("_") or info.name.startswith(PENDING):
            continue
        module = importlib.import_module(info.name)
        for name in getattr(module, "__all__", []):
            obj = getattr(module, name)
            if (inspect.isfunction(obj) or inspect.isclass(obj)) and obj.__module__ == module.__name__:
                yield f"{info.name}.{name}", obj


@pytest.mark.parametrize("qualname, obj", list(public_objects()), ids=lambda v: v if isinstance(v, str) else "")
def test_public_name_has_a_docstring_naming_its_chapter(qualname, obj):
    doc = inspect.getdoc(obj) or ""
    assert doc, f"{qualname} has no docstring"
    assert "See chapter" in doc or "See the *" in doc or "See chapters" in doc, \
        f"{qualname}: the docstring does not say where the book explains it ('See chapter ...')"


def test_every_module_exports_its_public_names():
    for info in pkgutil.walk_packages(rnnlab.__path__, "rnnlab."):
        leaf = info.name.split(".")[-1]
        if leaf.startswith("_") or info.ispkg:
            continue
        module = importlib.import_module(info.name)
        assert hasattr(module, "__all__"), f"{info.name} has no __all__ (the API page lists what it exports)"
