"""Coverage-guided fuzz targets (RELIABILITY T3, atheris): one module per parser of outside text,
each with ``TestOneInput(data)`` that asserts the parser's contract: a valid result, or only the
documented error (:class:`voucherd.core.errors.InvalidInput`). Any other exception is a finding.

    python -m fuzz money -max_total_time=300      # libFuzzer's flags follow the target's name

``make fuzz`` runs each for 5 minutes; ``tests/fuzz`` runs each briefly with a fixed seed."""

TARGETS = ("csv_file", "codes", "signatures", "money")
