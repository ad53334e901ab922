"""The spec's sections, one module per top-level key; :mod:`honed.spec.schema` assembles them.

Adding a section (say ``explain``): write ``sections/explain.py`` with its models, deriving from
:class:`~honed.spec.sections.common.Section`; add the field to ``Spec`` in ``spec/schema.py``
and the class names to its ``__all__``. A key inside an existing section goes into that
section's module. Every model needs a docstring and every field a
``Field(description=...)``: one short sentence, with the unit and what each allowed value does.
``tests/spec/test_reference.py`` refuses a field without one, and then asks for the reference
page to be regenerated: ``python -m honed.spec.reference --write`` (into ``docs/spec.md``).
"""
