"""The code normalizer and code pattern parser. Contract: ``normalize`` is idempotent;
``CodePattern.build`` gives a pattern whose generated codes are valid codes, or InvalidInput."""

from __future__ import annotations

import atheris

with atheris.instrument_imports(include=["voucherd.core.codes"]):
    from voucherd.core.codes import MAX_CODE_LENGTH, PLACEHOLDER, CodePattern, normalize
    from voucherd.core.errors import InvalidInput


def TestOneInput(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    code = fdp.ConsumeUnicode(80)
    once = normalize(code)
    assert normalize(once) == once, (code, once)
    text = fdp.ConsumeUnicode(80)
    charset = fdp.ConsumeUnicode(40) if fdp.ConsumeBool() else None
    try:
        if fdp.ConsumeBool():
            pattern = CodePattern.build(pattern=text, charset=charset)
        else:
            length = fdp.ConsumeIntInRange(-2, 40) if fdp.ConsumeBool() else None
            pattern = CodePattern.build(prefix=text or None, length=length, charset=charset)
    except InvalidInput:
        return
    assert 0 < len(pattern.pattern) <= MAX_CODE_LENGTH and pattern.random_length > 0
    for generated in pattern.generate(3):
        assert len(generated) == len(pattern.pattern) and normalize(generated) == generated
        assert generated.isascii() and PLACEHOLDER not in generated, (pattern, generated)
